import EngineIO
import SocketIO

/// The seed's application on the `/` namespace: the session table, the welcome, the dummy replies and
/// the hydration reminders. It knows Socket.IO, not the network library under it.
///
/// Confined to the service thread, except that ``sendReminder(at:)`` is reached from the reminder
/// thread through the executor — hence `@unchecked Sendable`.
public final class ChatApp: @unchecked Sendable {
    /// One row of the seed's `active_sessions` table.
    public struct SessionRecord: Sendable, Equatable {
        public var connectedAt: WallTime
        public var lastActivity: WallTime
    }

    /// The active sessions by Socket.IO sid.
    public private(set) var sessions: [String: SessionRecord] = [:]
    private let namespace: Namespace
    private let clock: any WallClock
    private let log: Logger

    /// Registers the app's handlers on the server's `/` namespace.
    public init(server: SocketIOServer, clock: any WallClock = SystemWallClock()) {
        self.namespace = server.namespace("/")
        self.clock = clock
        self.log = server.log
        namespace.onConnect = { [unowned self] socket in connected(socket) }
        namespace.onDisconnect = { [unowned self] socket, reason in disconnected(socket, reason: reason) }
        namespace.on("user_message") { [unowned self] socket, arguments, ack in userMessage(socket, arguments, ack) }
    }

    private func connected(_ socket: Socket) {
        let now = clock.now()
        sessions[socket.id] = SessionRecord(connectedAt: now, lastActivity: now)
        socket.emit("system_message", [["text": "Connected to server"]])
        log.info("connect sid=\(socket.id) sessions=\(sessions.count) peer=\(socket.peer)")
    }

    private func disconnected(_ socket: Socket, reason: SocketDisconnectReason) {
        sessions.removeValue(forKey: socket.id)
        log.info("disconnect sid=\(socket.id) reason=\"\(reason.rawValue)\" sessions=\(sessions.count)")
    }

    private func userMessage(_ socket: Socket, _ arguments: [JSONValue], _ ack: Ack?) {
        let now = clock.now()
        // One lookup: the update itself tells whether the session is in the table.
        guard (sessions[socket.id]?.lastActivity = now) != nil else { return }
        guard let text = UserMessage.text(from: arguments) else {
            log.info("bad user_message sid=\(socket.id): \(arguments.first.map { "\($0)" } ?? "no argument")")
            socket.emit("system_message", [["text": .string(UserMessage.expectedShape)]])
            ack?()
            return
        }
        socket.emit("bot_message", [["text": .string(UserMessage.reply(to: text, at: now))]])
        ack?()
    }

    /// Sends the reminder for the boundary `time` to every connected client. Service thread.
    public func sendReminder(at time: WallTime) {
        log.debug("reminder at \(time.hoursMinutes) to \(sessions.count) sessions")
        // Each node reminds its own clients: never through the message queue.
        namespace.emitLocally("bot_message", [["text": .string(UserMessage.reminder(at: time))]])
    }
}
