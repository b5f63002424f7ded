import EngineIO

/// A WebSocket-named transport whose first write fails at once: it ends its session from inside the send,
/// so a session opened on it ends while its open packet is being sent.
public final class FailingTransport: Transport {
    public let name = TransportName.websocket
    public var session: EngineSession?
    private var failed = false
    public var isWritable: Bool { !failed }

    public init() {}

    public func send(_ packets: [EnginePacket]) {
        guard !failed else { return }
        failed = true
        session?.transportClosed(self, reason: .transportError)
    }

    public func close() { failed = true }
}
