/// What one transport declares to the engine's ``TransportRegistry``: its name, whether a session may
/// start on it, what it may upgrade to, and how it is built. The engine knows transports only through
/// this and the ``Transport`` protocol, never by type.
public struct TransportKind: Sendable {
    /// As in `transport=` and in `upgrades`.
    public let name: TransportName
    /// Whether a handshake may open a session on it (rather than only be upgraded to).
    public let canOpenSession: Bool
    /// The transports a session on this one may move to, in the order the open packet lists them.
    public let upgradesTo: [TransportName]
    /// Builds the transport for a plain HTTP handshake, or nil if this kind does not travel over plain
    /// HTTP: then whoever holds its connection (the binding for a WebSocket, a test for an in-memory pipe)
    /// builds it and hands it to ``EngineServer/open(_:on:)``.
    public let makeForHTTP: (@Sendable (EngineConfiguration) -> any Transport)?

    /// - Parameters:
    ///   - name: the name clients use.
    ///   - canOpenSession: whether a session may start on it; default true.
    ///   - upgradesTo: the transports a session on it may move to; default none.
    ///   - makeForHTTP: builds it for a plain HTTP handshake; nil (the default) if it does not travel over plain HTTP.
    public init(
        name: TransportName, canOpenSession: Bool = true, upgradesTo: [TransportName] = [],
        makeForHTTP: (@Sendable (EngineConfiguration) -> any Transport)? = nil
    ) {
        self.name = name
        self.canOpenSession = canOpenSession
        self.upgradesTo = upgradesTo
        self.makeForHTTP = makeForHTTP
    }

    /// Whether requests for it are plain HTTP requests the engine answers (long-polling).
    public var travelsOverHTTP: Bool { makeForHTTP != nil }
}
