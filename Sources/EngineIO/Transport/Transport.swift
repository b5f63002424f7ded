/// The transports Engine.IO v4 defines, named as in the `transport` query parameter.
public enum TransportName: String, Sendable, CaseIterable {
    case polling
    case websocket
}

/// One way of carrying a session's packets to a client and back.
///
/// The session talks only to this protocol, never to an I/O library: WebSocket and HTTP long-polling are
/// two implementations, and unit tests plug in an in-memory one. A transport reports what it receives by
/// calling ``EngineSession/receive(_:from:)`` and its end by ``EngineSession/transportClosed(_:reason:)``.
public protocol Transport: AnyObject {
    /// The name clients use for it.
    var name: TransportName { get }
    /// Whether ``send(_:)`` can deliver right now (polling: only while a GET is waiting).
    var isWritable: Bool { get }
    /// The session this transport carries; the session sets it when it adopts the transport and clears it
    /// when it closes or drops the transport (transports hold it strongly; the session breaks the cycle).
    var session: EngineSession? { get set }
    /// Delivers packets, in order. Called only while ``isWritable``.
    func send(_ packets: [EnginePacket])
    /// Delivers one packet: the common case (a reply, a broadcast), which a framed transport can send
    /// without building an array. Called only while ``isWritable``.
    func send(_ packet: EnginePacket)
    /// Ends the transport. It reports nothing to the session afterwards.
    func close()
    /// Ends the transport because its session ended for `reason` (a WebSocket says 1001 "going away" when
    /// the server stops). The default is ``close()``.
    func close(reason: DisconnectReason)
    /// What this transport itself still holds for the client, against `--max-buffered`, and how much of
    /// its stream has left (a polling transport holds nothing: the session queues for it).
    var outbound: OutboundBudget { get }
}

extension Transport {
    public func send(_ packet: EnginePacket) { send([packet]) }
    public func close(reason: DisconnectReason) { close() }
    public var outbound: OutboundBudget { OutboundBudget.holdingNothing }
}
