/// A WebSocket as the engine needs it: framed sends and a close. The lws binding implements it;
/// tests use an in-memory one.
public protocol WebSocketConnection: AnyObject {
    /// Queues one frame for the peer.
    func sendFrame(_ bytes: [UInt8], binary: Bool)
    /// Queues one text frame made of `digit` then `payload`: an Engine.IO packet whose payload (often
    /// shared by every recipient of a broadcast) is not copied just to put its type in front.
    func sendText(digit: UInt8, payload: [UInt8])
    /// Closes the WebSocket with a close frame carrying `code` (1000 normal, 1002 protocol error, 1009 too big).
    func close(code: UInt16)
}
