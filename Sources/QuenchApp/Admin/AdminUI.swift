import EngineIO
import SocketIO

/// The server side of the Socket.IO Admin UI (`@socket.io/admin-ui` 0.5, admin.socket.io), as Node's
/// `instrument()` and python-socketio's `admin.py` speak it, on its own namespace (`/admin`):
///
/// - on connect: `session` (after a password login), `config` `{supportedFeatures}`, `all_sockets`;
/// - every 2 s per node: `server_stats`;
/// - as things happen: `socket_connected`, `socket_updated` (transport upgrade), `socket_disconnected`,
///   `room_joined`, `room_left`, and, while the feed is on, `event_received` and `event_sent`;
/// - actions from the UI (unless read-only): `emit`, `join`, `leave`, `_disconnect`, each with its
///   namespace and an optional room filter.
///
/// Cost: while no admin client is connected here (and no message queue carries reports to other nodes'),
/// the server's observer is nil and each path costs one branch. With one, reports are bounded by two token
/// buckets (``AdminFeed``): socket and room changes at ``changesPerSecond``, events at the configured rate;
/// past them reports are dropped and counted in a log line, never queued.
///
/// Across nodes: every report is emitted on the admin namespace, which a message queue carries to every
/// node, so a UI on any node hears every node's stats and changes (as with python-socketio's manager).
/// Service thread only.
public final class AdminUI: SocketIOObserver {
    /// Socket and room changes reported per second at most (per node).
    static let changesPerSecond = 1000
    /// Sockets listed in one `all_sockets` at most (the rest are left out, and logged).
    static let maxListedSockets = 10_000

    let server: SocketIOServer
    let engine: EngineServer
    public let configuration: AdminConfiguration
    let namespace: Namespace
    private let clock: any WallClock
    let log: Logger
    private var login: AdminLogin
    private var changes: AdminFeed
    private var events: AdminFeed
    /// The socket lists this node may still send other nodes (AdminUI+Cluster.swift).
    var listAnswers: TokenBucket
    /// Admin sockets connected to this node.
    private var watchers = 0
    /// Whether a message queue carries reports to the other nodes: this node then tells them every stats
    /// period while it has watchers, and reports to them while one of them does.
    public var clustered = false
    /// Until when (engine clock) another node is known to have watchers: its last presence message plus
    /// ``presenceLifetime`` stats periods.
    var peersWatchingUntil: Int64 = .min
    static let presenceLifetime: Int64 = 3
    let startedAt: Int64
    var lastTraffic = TrafficSnapshot()
    private var statsTimer: EngineTimer?
    /// Logins by outcome, for `/metrics`.
    private var logins = AdminCounts.Logins()

    /// What the Admin UI did since the start, for `/metrics`. Service thread.
    public var counts: AdminCounts {
        AdminCounts(viewers: watchers, logins: logins, eventReportsDropped: events.droppedTotal, changeReportsDropped: changes.droppedTotal)
    }

    /// Serves the admin namespace on `server`.
    /// - Parameters:
    ///   - server: the Socket.IO server to watch and act on.
    ///   - configuration: namespace, authentication, read-only, feed rate.
    ///   - verify: checks a password against the bcrypt hash (QuenchSystem's `PasswordHash.matches`).
    ///   - clock: the wall clock for reported times.
    public init(
        server: SocketIOServer, configuration: AdminConfiguration, verify: @escaping (String, String) -> Bool,
        clock: any WallClock = SystemWallClock()
    ) {
        self.server = server
        self.engine = server.engine
        self.configuration = configuration
        self.clock = clock
        self.log = server.log
        let now = server.engine.now
        startedAt = now
        login = AdminLogin(authentication: configuration.authentication, verify: verify, now: now)
        changes = AdminFeed(perSecond: Self.changesPerSecond, now: now)
        events = AdminFeed(perSecond: configuration.eventsPerSecond, now: now)
        listAnswers = TokenBucket(perSecond: Self.listAnswersPerSecond, burst: Self.listAnswersPerSecond * 2, now: now)
        // No recovery log: reports are worth having live, and a UI that reconnects asks for all_sockets again.
        namespace = server.namespace(configuration.namespace, recovers: false)
        namespace.authorize = { [unowned self] auth, peer in authorize(auth, peer: peer) }
        // The password is not kept with the socket (nor sent along if its session moves to another node):
        // only that it logged in with one, so that it is given a session id.
        namespace.keptAuth = { auth in
            auth?["password"] == nil ? auth : .object([JSONMember("passwordLogin", .bool(true))])
        }
        namespace.onConnect = { [unowned self] socket in connected(socket) }
        namespace.onDisconnect = { [unowned self] _, _ in watcherLeft() }
        // An admin client's polling session moving between nodes takes its watching along.
        namespace.onMoveOut = { [unowned self] _ in watcherLeft() }
        namespace.onMoveIn = { [unowned self] _ in
            watchers += 1
            updateObserver()
        }
        namespace.onPeerMessage = { [unowned self] name, arguments in peerMessage(name, arguments) }
        for action in ["emit", "join", "leave", "_disconnect"] {
            namespace.on(action) { [unowned self] socket, arguments, ack in perform(action, arguments, from: socket, ack: ack) }
        }
    }

    /// Starts the `server_stats` timer (on the service thread, through the engine's timers).
    public func start() {
        lastTraffic = TrafficSnapshot()
        _ = stats(now: engine.now, wallNow: wallNow)  // the baseline: the first report counts from here
        scheduleStats()
    }

    var wallNow: Int64 { clock.now().nanoseconds / 1_000_000 }

    private func scheduleStats() {
        statsTimer = engine.schedule(after: configuration.statsInterval) { [unowned self] in
            updateObserver()
            if clustered, watchers > 0 { namespace.publishToPeers(PeerMessage.watching, []) }
            if isWatched {
                namespace.emit("server_stats", [stats(now: engine.now, wallNow: wallNow)])
            } else {
                _ = stats(now: engine.now, wallNow: wallNow)
            }
            logDrops()
            scheduleStats()
        }
    }

    /// Whether an admin client is connected here, or (with a message queue) to another node lately.
    private var isWatched: Bool { watchers > 0 || engine.now < peersWatchingUntil }

    private func watcherLeft() {
        watchers -= 1
        updateObserver()
    }

    /// Sets the server's observer while someone watches, and unsets it otherwise (one branch per report site).
    func updateObserver() {
        let watching = isWatched
        if watching, server.observer == nil {
            server.observer = self
        } else if !watching, server.observer === self {
            server.observer = nil
        }
    }

    // MARK: Login

    private func authorize(_ auth: JSONValue?, peer: String) -> String? {
        switch login.check(auth, peer: peer, now: { [engine] in engine.now }) {
        case .accepted:
            logins.accepted &+= 1
            return nil
        case .refused(let message, let reason):
            if message == AdminLogin.tooManyAttempts { logins.throttled &+= 1 } else { logins.refused &+= 1 }
            // Its own cause once the budget is spent, so that line is not among those a guess flood left out.
            let cause = message == AdminLogin.tooManyAttempts ? "admin-login-budget" : "admin-login"
            log.limited(.warn, cause: cause, source: peer, "admin: login refused peer=\(peer) namespace=\(LogSafe.text(namespace.name)): \(reason)")
            return message
        }
    }

    private func connected(_ socket: Socket) {
        watchers += 1
        updateObserver()
        log.limited(.info, cause: "admin-connect", source: socket.peer, "admin: connected sid=\(socket.id) peer=\(socket.peer)\(configuration.readOnly ? " (read-only)" : "")")
        if case .basic = configuration.authentication, socket.auth?["passwordLogin"] == .bool(true) {
            socket.emit("session", [.string(login.issueSession())])
        }
        socket.emit("config", [.object(["supportedFeatures": .array(configuration.supportedFeatures.map(JSONValue.string))])])
        socket.emit("all_sockets", [.array(allSockets())])
        // The other nodes' sockets follow, as socket_connected, when their lists come back (peerMessage).
        namespace.publishToPeers(PeerMessage.listSockets, [.string(socket.id)])
    }

    func allSockets(limit: Int = maxListedSockets) -> [JSONValue] {
        let now = engine.now
        let wall = wallNow
        var listed: [JSONValue] = []
        var total = 0
        for namespace in server.servedNamespaces {
            total += namespace.sockets.count
            for socket in namespace.sockets.values where listed.count < limit {
                listed.append(serialize(socket, now: now, wallNow: wall))
            }
        }
        if total > listed.count {
            log.limited(.info, cause: "admin-list", source: "all_sockets", "admin: listed \(listed.count) of \(total) sockets (the bound is \(limit))")
        }
        return listed
    }

    // MARK: Actions

    private func perform(_ action: String, _ arguments: [JSONValue], from socket: Socket, ack: Ack?) {
        guard !configuration.readOnly else {
            log.limited(.warn, cause: "admin-read-only", source: socket.peer, "admin: refused \(action) from sid=\(socket.id) peer=\(socket.peer): read-only")
            ack?([.object(["error": "read-only"])])
            return
        }
        guard let request = AdminAction(action, arguments) else {
            log.limited(.info, cause: "admin-bad-action", source: socket.peer, "admin: ignored malformed \(action) from sid=\(socket.id) peer=\(socket.peer)")
            return
        }
        guard let target = server.servedNamespaces.first(where: { $0.name == request.namespace }) else {
            log.limited(.info, cause: "admin-bad-action", source: socket.peer, "admin: \(action) for unknown namespace \(LogSafe.text(request.namespace)) ignored")
            return
        }
        log.limited(.info, cause: "admin-action", source: socket.peer, "admin: \(action) namespace=\(LogSafe.text(request.namespace)) filter=\(request.filter.map { LogSafe.text($0) } ?? "none") by sid=\(socket.id) peer=\(socket.peer)")
        apply(request, on: target)
        if case .emit = request.kind {
            // An emit already reaches every node through the namespace.
        } else {
            namespace.publishToPeers(PeerMessage.action, [.string(action), .array(arguments)])
        }
        ack?()
    }

    /// Applies an action to this node's sockets (an emit goes to every node through the namespace).
    func apply(_ request: AdminAction, on target: Namespace) {
        let rooms = request.filter.map { [$0] }
        switch request.kind {
        case .emit(let event, let arguments):
            if let room = request.filter { target.emit(event, arguments, to: room) } else { target.emit(event, arguments) }
        case .join(let room):
            for socket in target.recipients(in: rooms, skip: [], limit: .max).sockets { socket.join(room) }
        case .leave(let room):
            for socket in target.recipients(in: rooms, skip: [], limit: .max).sockets { socket.leave(room) }
        case .disconnect(let close):
            for socket in target.recipients(in: rooms, skip: [], limit: .max).sockets { socket.disconnect(closingConnection: close) }
        }
    }

    // MARK: SocketIOObserver

    public func socketConnected(_ socket: Socket) {
        guard changes.take(now: engine.now) else { return }
        namespace.emit("socket_connected", [serialize(socket, now: engine.now, wallNow: wallNow), .string(ISOTime.text(milliseconds: wallNow))])
    }

    public func socketDisconnected(_ socket: Socket, reason: SocketDisconnectReason) {
        guard changes.take(now: engine.now) else { return }
        namespace.emit(
            "socket_disconnected",
            [.string(socket.namespace.name), .string(socket.id), .string(reason.rawValue), .string(ISOTime.text(milliseconds: wallNow))])
    }

    public func socketUpgraded(_ socket: Socket) {
        guard changes.take(now: engine.now) else { return }
        namespace.emit(
            "socket_updated", [.object(["id": .string(socket.id), "nsp": .string(socket.namespace.name), "transport": .string(socket.transport.rawValue)])])
    }

    public func socket(_ socket: Socket, joined room: String) {
        roomChanged("room_joined", socket, room)
    }

    public func socket(_ socket: Socket, left room: String) {
        roomChanged("room_left", socket, room)
    }

    private func roomChanged(_ event: String, _ socket: Socket, _ room: String) {
        guard room != socket.id, changes.take(now: engine.now) else { return }
        namespace.emit(event, [.string(socket.namespace.name), .string(room), .string(socket.id), .string(ISOTime.text(milliseconds: wallNow))])
    }

    public func socket(_ socket: Socket, received event: String, _ arguments: [JSONValue]) {
        report("event_received", socket.namespace, [socket], event, arguments)
    }

    public func socket(_ socket: Socket, sent event: String, _ arguments: [JSONValue]) {
        report("event_sent", socket.namespace, [socket], event, arguments)
    }

    public func namespace(_ namespace: Namespace, sent event: String, _ arguments: [JSONValue], rooms: [String]?, skip: [String]) {
        guard configuration.eventsPerSecond > 0, namespace !== self.namespace else { return }
        let allowed = events.available(namespace.sockets.count, now: engine.now)
        let (recipients, total) = namespace.recipients(in: rooms, skip: skip, limit: allowed)
        events.drop(total - recipients.count)
        report("event_sent", namespace, recipients, event, arguments)
    }

    /// `event_received`/`event_sent` for each socket in `sockets`, within the events budget; never about
    /// the admin namespace itself.
    private func report(_ kind: String, _ watched: Namespace, _ sockets: [Socket], _ event: String, _ arguments: [JSONValue]) {
        guard configuration.eventsPerSecond > 0, watched !== namespace, !sockets.isEmpty else { return }
        let now = engine.now
        let time = JSONValue.string(ISOTime.text(milliseconds: wallNow))
        let payload = JSONValue.array([.string(event)] + arguments)
        for socket in sockets {
            guard events.take(now: now) else { return }
            namespace.emit(kind, [.string(watched.name), .string(socket.id), payload, time])
        }
    }

    private func logDrops() {
        let now = engine.now
        if let count = events.droppedToLog(now: now) {
            log.info("admin: \(count) event reports left out over the feed's bound (\(configuration.eventsPerSecond) a second, --admin-event-rate)")
        }
        if let count = changes.droppedToLog(now: now) {
            log.info("admin: \(count) socket and room reports left out over the bound (\(Self.changesPerSecond) a second)")
        }
    }
}
