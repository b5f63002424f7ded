/// Watches what the server does, for a monitor such as the Socket.IO Admin UI (QuenchApp's `AdminUI`).
///
/// Set ``SocketIOServer/observer``; while it is nil each path below costs one branch and nothing else, so a
/// server nobody watches pays nothing per message. Every call is on the service thread, after the fact, and
/// must not block: an observer that reports what it sees bounds that work itself.
public protocol SocketIOObserver: AnyObject {
    /// A socket joined its namespace (after its CONNECT reply), was recovered, or arrived from another node.
    func socketConnected(_ socket: Socket)
    /// A socket left its namespace, for `reason`.
    func socketDisconnected(_ socket: Socket, reason: SocketDisconnectReason)
    /// The socket's Engine.IO session moved to a new transport.
    func socketUpgraded(_ socket: Socket)
    /// The socket was put in `room`.
    func socket(_ socket: Socket, joined room: String)
    /// The socket was taken out of `room`.
    func socket(_ socket: Socket, left room: String)
    /// The client sent `event` on this socket (before its handler runs).
    func socket(_ socket: Socket, received event: String, _ arguments: [JSONValue])
    /// `event` was sent to this one socket.
    func socket(_ socket: Socket, sent event: String, _ arguments: [JSONValue])
    /// `event` was sent to this node's members of `rooms` (nil: everyone) in `namespace`, except `skip`.
    func namespace(_ namespace: Namespace, sent event: String, _ arguments: [JSONValue], rooms: [String]?, skip: [String])
}
