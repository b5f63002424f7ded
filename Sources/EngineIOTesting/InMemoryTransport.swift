import EngineIO

/// A third transport, registered from outside the engine: packets go straight between the session and a
/// test playing the client, no framing, no socket. It exists to prove the engine knows transports only
/// through ``Transport`` and ``TransportRegistry``; tests open sessions on it, upgrade from it to
/// WebSocket, and close it, with the engine unchanged.
public final class InMemoryTransport: Transport {
    /// Its registration: a session may start on it and move to WebSocket; it does not travel over plain
    /// HTTP, so a test builds it and hands it to ``EngineServer/open(_:on:)``.
    public static let kind = TransportKind(name: .memory, upgradesTo: [.websocket])

    public let name = TransportName.memory
    public var session: EngineSession?
    /// Whether the client takes packets now; while false, the session queues them.
    public var isWritable: Bool { isReading && !isClosed }
    /// Whether the client is reading (a test turns it off to make the session queue).
    public var isReading = true {
        didSet { if isReading { session?.flush() } }
    }
    /// Every packet the client received, oldest first.
    public private(set) var received: [EnginePacket] = []
    /// Whether the transport was closed, and why (nil: closed with no reason given, or still open).
    public private(set) var isClosed = false
    public private(set) var closeReason: DisconnectReason?
    /// Whether it was closed because its session moved to another transport.
    public private(set) var closedByUpgrade = false

    public init() {}

    public func send(_ packets: [EnginePacket]) {
        guard !isClosed else { return }
        received.append(contentsOf: packets)
    }

    public func close() {
        isClosed = true
    }

    public func close(reason: DisconnectReason) {
        guard !isClosed else { return }
        isClosed = true
        closeReason = reason
    }

    public func closeAfterUpgrade() {
        closedByUpgrade = true
        close()
    }

    /// The client sends one packet.
    public func clientSends(_ packet: EnginePacket) {
        guard !isClosed, let session else { return }
        session.receive(packet, from: self)
    }

    /// The client goes away without a word.
    public func clientDisconnects() {
        guard !isClosed else { return }
        isClosed = true
        session?.transportClosed(self, reason: .transportClose)
    }

    /// Returns and forgets the packets received so far.
    public func takeReceived() -> [EnginePacket] {
        defer { received.removeAll() }
        return received
    }
}

extension TransportName {
    /// The in-memory test transport.
    public static let memory: TransportName = "memory"
}

extension EngineServer {
    /// Opens a session on a new in-memory transport (or upgrades `query`'s sid to one), as a client
    /// connecting with `query` would. Nil if the engine refused it.
    public func connectInMemoryTransport(query: String = "EIO=4&transport=memory") -> InMemoryTransport? {
        let transport = InMemoryTransport()
        let request = HTTPRequest(method: .get, path: configuration.path, query: QueryParameters(query), peer: "test")
        return open(request, on: transport) ? transport : nil
    }
}
