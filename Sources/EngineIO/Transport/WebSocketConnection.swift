/// A WebSocket as the engine needs it: framed sends and a close. The lws binding implements it;
/// tests use an in-memory one.
public protocol WebSocketConnection: AnyObject {
    /// Queues one frame for the peer.
    func sendFrame(_ bytes: [UInt8], binary: Bool)
    /// Queues one text frame made of `digit` then `payload`: an Engine.IO packet whose payload (often
    /// shared by every recipient of a broadcast) is not copied just to put its type in front.
    func sendText(digit: UInt8, payload: [UInt8])
    /// Queues a broadcast's frame, built once for every recipient (``SharedTextFrame``): a socket that can
    /// write at once writes those bytes as they are; otherwise it queues the packet as ``sendText(digit:payload:)``
    /// does. The default does the latter.
    func sendShared(_ frame: SharedTextFrame)
    /// Closes the WebSocket with a close frame carrying `code` (1000 normal, 1001 going away, 1002 protocol
    /// error, 1009 too big) at once: frames still queued are dropped, and a connection whose client is not
    /// taking what was already written is dropped without the close frame.
    func close(code: UInt16)
    /// The bytes this connection still holds for the client (queued frames, and what the socket has not
    /// taken of the last write), and how much has left. A frame that would take it past its limit is not
    /// queued: the connection calls its transport's `outboundLimitReached(queued:)` instead.
    var outbound: OutboundBudget { get }
    /// Stops (false) or resumes (true) reading from the client: with reading stopped the kernel's buffer
    /// fills and TCP holds the client back, so a flood over its budget costs the server nothing until it
    /// resumes. What was already read is still delivered. The default does nothing.
    func setReceiving(_ receiving: Bool)
}

extension WebSocketConnection {
    public func setReceiving(_ receiving: Bool) {}

    public func sendShared(_ frame: SharedTextFrame) {
        sendText(digit: frame.packet.type.digit, payload: frame.packet.payload)
    }
}
