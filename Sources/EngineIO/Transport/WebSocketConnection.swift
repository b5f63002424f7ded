/// A WebSocket as the engine needs it: framed sends and a close. The lws binding implements it;
/// tests use an in-memory one.
public protocol WebSocketConnection: AnyObject {
    /// Queues one frame for the peer.
    func sendFrame(_ bytes: [UInt8], binary: Bool)
    /// Closes the WebSocket with a close frame carrying `code` (1000 normal, 1002 protocol error, 1009 too big).
    func close(code: UInt16)
}
