import EngineIO

/// The Socket.IO state of one Engine.IO session: its sockets (one per joined namespace) and any binary
/// packet still waiting for its attachments. Kept in the session's `context`.
final class ClientConnection {
    let session: EngineSession
    unowned let server: SocketIOServer
    /// One socket per joined namespace. A client joins one or a few, so a scan (comparing names, which
    /// are short) beats hashing the name for every packet.
    private(set) var sockets: [Socket] = []
    /// A BINARY_EVENT/BINARY_ACK whose attachments are still arriving (at most one; its bytes bounded by
    /// maxPayload, see ``PendingBinaryPacket``).
    var partialBinary: PendingBinaryPacket?
    /// Closes the connection if it joins no namespace in time (connectTimeout); cancelled by the first join.
    var connectTimer: EngineTimer?
    /// Namespaces whose CONNECT waits for a recovery store's answer (SocketIOServer+Restore.swift).
    var restoring: [String] = []
    /// The Engine.IO session ended (a restore that completes later finds nobody to give the session to).
    private(set) var isClosed = false
    /// The namespace CONNECTs this client may send (SocketIOServer+Budget.swift).
    var namespaceBudget: ClientBudget
    /// While reading from the client is paused over its event budget: the timer that resumes it.
    var resumeTimer: EngineTimer?
    var log: Logger { server.log }
    /// Whether the client speaks Socket.IO 2 (over Engine.IO 3): joined to `/` without asking, a CONNECT
    /// reply without data, errors as plain strings.
    let speaksV2: Bool

    init(session: EngineSession, server: SocketIOServer) {
        self.session = session
        speaksV2 = session.protocolVersion == .v3
        self.server = server
        namespaceBudget = server.engine.configuration.budgets.budget(.namespaceCycles, now: server.engine.now)
    }

    func socket(in namespace: String) -> Socket? {
        for socket in sockets where socket.namespace.name == namespace { return socket }
        return nil
    }

    func add(_ socket: Socket) {
        connectTimer?.cancel()
        connectTimer = nil
        sockets.append(socket)
        socket.namespace.add(socket)
    }

    /// Takes `socket` out of its namespace and runs the namespace's disconnect handler.
    func remove(_ socket: Socket, reason: SocketDisconnectReason) {
        guard let index = sockets.firstIndex(where: { $0 === socket }) else { return }
        sockets.remove(at: index)
        if reason.isRecoverable, let recovery = socket.namespace.recovery {
            recovery.keep(socket)
        }
        socket.namespace.remove(socket)
        socket.namespace.rooms.removeAll(of: socket.id)
        socket.markDisconnected()
        socket.namespace.onDisconnect?(socket, reason)
        socket.namespace.observer?.socketDisconnected(socket, reason: reason)
    }

    /// The session moves to another node: every socket leaves this node without disconnecting (no handler
    /// runs but ``Namespace/onMoveOut``, nothing is kept for recovery). A socket still owed acknowledgements
    /// stays here, disconnected, for their callbacks: the answers come back from the node it moved to.
    func moveAway() {
        isClosed = true
        connectTimer?.cancel()
        connectTimer = nil
        for socket in sockets {
            socket.namespace.remove(socket)
            socket.namespace.rooms.removeAll(of: socket.id)
            if socket.owedAcks.ids.isEmpty || !server.keepForAcks(socket) { socket.markDisconnected() }
            socket.namespace.onMoveOut?(socket)
        }
        sockets.removeAll()
    }

    /// The session ended: every socket leaves with the engine's reason.
    func removeAll(reason: SocketDisconnectReason) {
        isClosed = true
        connectTimer?.cancel()
        connectTimer = nil
        resumeTimer?.cancel()
        resumeTimer = nil
        for socket in sockets { remove(socket, reason: reason) }
        partialBinary = nil
    }
}
