import EngineIO

/// The Socket.IO state of one Engine.IO session: its sockets (one per joined namespace) and any binary
/// packet still waiting for its attachments. Kept in the session's `context`.
final class ClientConnection {
    let session: EngineSession
    unowned let server: SocketIOServer
    /// Joined namespaces by name.
    private(set) var sockets: [String: Socket] = [:]
    /// A BINARY_EVENT/BINARY_ACK whose attachments are still arriving.
    var partialBinary: (packet: SocketIOPacket, attachments: [[UInt8]])?
    /// Closes the connection if it joins no namespace in time (connectTimeout); cancelled by the first join.
    var connectTimer: EngineTimer?
    var log: Logger { server.log }

    init(session: EngineSession, server: SocketIOServer) {
        self.session = session
        self.server = server
    }

    func socket(in namespace: String) -> Socket? { sockets[namespace] }

    func add(_ socket: Socket) {
        connectTimer?.cancel()
        connectTimer = nil
        sockets[socket.namespace.name] = socket
        socket.namespace.add(socket)
    }

    /// Takes `socket` out of its namespace and runs the namespace's disconnect handler.
    func remove(_ socket: Socket, reason: SocketDisconnectReason) {
        guard sockets[socket.namespace.name] === socket else { return }
        sockets.removeValue(forKey: socket.namespace.name)
        socket.namespace.remove(socket)
        socket.namespace.rooms.removeAll(of: socket.id)
        socket.markDisconnected()
        socket.namespace.onDisconnect?(socket, reason)
    }

    /// The session ended: every socket leaves with the engine's reason.
    func removeAll(reason: SocketDisconnectReason) {
        connectTimer?.cancel()
        connectTimer = nil
        for socket in Array(sockets.values) { remove(socket, reason: reason) }
        partialBinary = nil
    }
}
