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

    /// The active sessions by Socket.IO sid (a snapshot).
    public var sessions: [String: SessionRecord] { table.mapValues(\.record) }
    /// The table itself. Each row is also kept in its socket's `data`, so a message updates its row in one
    /// load instead of hashing the sid.
    private var table: [String: SessionRow] = [:]
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
        // A session moving between nodes takes its row along (encodeData/decodeData below): it leaves this
        // node's table and joins the other's, with no welcome and no goodbye.
        namespace.onMoveOut = { [unowned self] socket in table.removeValue(forKey: socket.id) }
        namespace.onMoveIn = { [unowned self] socket in
            let row = socket.data as? SessionRow ?? SessionRow(SessionRecord(connectedAt: clock.now(), lastActivity: clock.now()))
            socket.data = row
            table[socket.id] = row
        }
        namespace.onOverBudget = { socket, notice in socket.emit("system_message", [["text": .string(Self.overBudgetText(notice))]]) }
        namespace.on("user_message") { [unowned self] socket, arguments, ack in userMessage(socket, arguments, ack) }
        // Connection state recovery across nodes: the row travels through Redis as two timestamps.
        namespace.encodeData = { data in
            guard let row = data as? SessionRow else { return nil }
            return ["connectedAt": .int(row.record.connectedAt.nanoseconds), "lastActivity": .int(row.record.lastActivity.nanoseconds)]
        }
        namespace.decodeData = { value in
            guard case .int(let connectedAt)? = value["connectedAt"], case .int(let lastActivity)? = value["lastActivity"] else { return nil }
            return SessionRow(SessionRecord(connectedAt: clock.time(atNanoseconds: connectedAt), lastActivity: clock.time(atNanoseconds: lastActivity)))
        }
    }

    private func connected(_ socket: Socket) {
        if socket.recovered {
            // Connection state recovery: the same session continues. Its row (connectedAt, lastActivity) is the
            // one kept with the socket while it was away (or read back from Redis on another node), put back
            // under the same sid; no second welcome.
            let row = socket.data as? SessionRow ?? SessionRow(SessionRecord(connectedAt: clock.now(), lastActivity: clock.now()))
            socket.data = row
            table[socket.id] = row
            log.info("recovered sid=\(socket.id) sessions=\(table.count) peer=\(socket.peer)")
            return
        }
        let now = clock.now()
        let row = SessionRow(SessionRecord(connectedAt: now, lastActivity: now))
        table[socket.id] = row
        socket.data = row
        socket.emit("system_message", [["text": "Connected to server"]])
        log.limited(.info, cause: "connect", source: socket.engineSessionID, "connect sid=\(socket.id) sessions=\(table.count) peer=\(socket.peer)")
    }

    private func disconnected(_ socket: Socket, reason: SocketDisconnectReason) {
        table.removeValue(forKey: socket.id)
        // socket.data stays: with connection state recovery on, a dropped session keeps it for the window, and a
        // recovered socket gets this same row back.
        log.limited(.info, cause: "disconnect", source: socket.engineSessionID, "disconnect sid=\(socket.id) reason=\"\(reason.rawValue)\" sessions=\(table.count)")
    }

    private func userMessage(_ socket: Socket, _ arguments: [JSONValue], _ ack: Ack?) {
        let now = clock.now()
        guard let row = socket.data as? SessionRow else { return }
        row.record.lastActivity = now
        guard let text = UserMessage.text(from: arguments) else {
            log.info("bad user_message sid=\(socket.id): \(arguments.first.map { LogSafe.text("\($0)") } ?? "no argument")")
            socket.emit("system_message", [["text": .string(UserMessage.expectedShape)]])
            ack?()
            return
        }
        socket.emit("bot_message", [.object([JSONMember("text", .string(UserMessage.reply(to: text, at: now)))])])
        ack?()
    }

    /// What a client sending faster than `--event-rate` is told (at most once a second, and at the disconnect).
    static func overBudgetText(_ notice: BudgetNotice) -> String {
        let bound = "at most \(notice.limit.perSecond) messages a second after a burst of \(notice.limit.burst)"
        if notice.disconnecting { return "Disconnected: too many messages for too long (\(bound))" }
        let what = notice.dropped == 1 ? "1 message was" : "\(notice.dropped) messages were"
        return "Too many messages: \(what) dropped (\(bound))"
    }

    /// Sends the reminder for the boundary `time` to every connected client. Service thread.
    public func sendReminder(at time: WallTime) {
        log.debug("reminder at \(time.hoursMinutes) to \(table.count) sessions")
        // Each node reminds its own clients: never through the message queue.
        namespace.emitLocally("bot_message", [["text": .string(UserMessage.reminder(at: time))]])
    }
}

/// One row of the session table, shared by the table and the socket.
private final class SessionRow {
    var record: ChatApp.SessionRecord

    init(_ record: ChatApp.SessionRecord) {
        self.record = record
    }
}
