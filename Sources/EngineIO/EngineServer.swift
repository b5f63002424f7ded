/// The Engine.IO v4 server: checks handshakes, owns the sessions table, runs every heartbeat from one
/// deadline heap, and hands messages to its delegate.
///
/// Confined to the service thread: the binding calls it from lws callbacks only, so it needs no locks.
public final class EngineServer {
    public let configuration: EngineConfiguration
    public let log: Logger
    /// The layer above; the engine does not own it.
    public weak var delegate: (any EngineServerDelegate)?
    private let clock: any EngineClock
    var sessions = SessionTable<EngineSession>()
    private var deadlines = DeadlineHeap<EngineSession>()
    /// One-shot timers of the layers above (``schedule(after:_:)``), on the same wake-up as the heartbeats.
    private var timers = DeadlineHeap<EngineTimer>()
    /// The size of ``timers`` at which the next ``schedule(after:_:)`` sweeps cancelled timers out of it.
    private var timerSweepSize = EngineServer.minimumTimerSweepSize
    /// Polling sessions the client closed with a POSTed close packet while no GET was waiting: the GET
    /// it had in flight (on another connection, possibly arriving a moment later) is answered with a noop,
    /// once, as if it had been waiting. Keyed by sid; each entry dies with its grace timer.
    private var closedByClient: [String: EngineTimer] = [:]
    /// Sessions, upgrades and messages counted for `/metrics` (``EngineCounters``).
    public internal(set) var counters = EngineCounters()
    /// The deadline the clock was last asked to wake us for.
    private var armedWakeup = Int64.max
    /// The other nodes of a cluster, when there are any: sids then name this node (``SessionID/make(nodeTag:)``),
    /// and a request for a session another node holds is served through it (EngineServer+Cluster.swift).
    /// Set it before serving.
    public var link: (any NodeLink)?
    /// Requests and moves waiting on other nodes, and sessions that moved on from here.
    var cluster = ClusterState()
    /// Sessions and handshakes per client address (EngineServer+AddressLimits.swift).
    var addressLimits: AddressLimits
    /// What the per-client budgets refused, by cause; the Socket.IO layer counts its own here too.
    public let budgetCounters = BudgetCounters()
    /// The bytes queued for all clients together, against `--max-buffered-total` (EngineServer+OutboundMemory.swift):
    /// every session's queue and every connection the binding builds for this engine count in it.
    public let outboundMemory: OutboundMemory

    /// - Parameters:
    ///   - configuration: ping timings, payload limit, path, transports, CORS.
    ///   - clock: monotonic time and wake-ups (the lws timer, or a test clock).
    ///   - log: where handshake refusals and session opens and closes are logged.
    public init(configuration: EngineConfiguration, clock: any EngineClock, log: Logger) {
        self.configuration = configuration
        self.clock = clock
        self.log = log
        addressLimits = AddressLimits(configuration.addressLimits)
        outboundMemory = OutboundMemory(limit: configuration.maxBufferedTotal)
        outboundMemory.reclaimer = { [unowned self] needed in reclaimOutboundMemory(needing: needed) }
    }

    /// Timers that never fired let go of their actions: an action may hold what holds its timer (a Socket.IO
    /// client and its connectTimeout), and with no engine left to fire or cancel it the two would keep each
    /// other alive.
    deinit {
        timers.forEachElement { $0.cancel() }
    }

    /// The number of open sessions.
    public var sessionCount: Int { sessions.count }
    /// Monotonic milliseconds, from the engine's clock.
    public var now: Int64 { clock.nowMilliseconds }

    /// The open session with this sid, unless it has already missed its pong (decided now, not at the
    /// next timer tick, so the answer is the same however busy the thread is).
    public func session(id: String) -> EngineSession? {
        live(sessions[id])
    }

    /// The same for a sid given as a request's bytes (``route(_:arrivingOn:)``: no `String` is made).
    func session(idBytes: UnsafeBufferPointer<UInt8>) -> EngineSession? {
        live(sessions[bytes: idBytes])
    }

    private func live(_ session: EngineSession?) -> EngineSession? {
        guard let session else { return nil }
        if session.heartbeat.isExpired(now: now) {
            session.close(reason: .pingTimeout)
            return nil
        }
        return session
    }

    // MARK: Handshake checks

    /// What a valid request asks for.
    public enum Route {
        /// A new session on a transport of this kind.
        case handshake(TransportKind)
        /// A request for an existing session.
        case existing(EngineSession, TransportName)
        /// The GET a polling client had in flight when it POSTed its close packet: answered with a noop.
        case releasedAfterClose
        /// A request for a session that another node holds (its sid names that node, or it moved there from
        /// here): served through ``link``.
        case elsewhere(node: String, sid: String)
    }

    /// Checks the query of a request on the engine's path, in the reference server's order:
    /// transport, protocol version, origin, then the sid.
    /// - Parameter carrier: the transport whose connection the request came on (a WebSocket handshake:
    ///   `.websocket`), or nil for a plain HTTP request, which only a transport that travels over HTTP takes.
    public func route(_ request: HTTPRequest, arrivingOn carrier: TransportName?) -> Result<Route, EngineRequestError> {
        // The offered set holds two names at most: walking it compares two short strings, where hashing costs more.
        guard let kind = configuration.registry.kind(in: request.query), configuration.transports.contains(where: { $0 == kind.name }) else {
            return .failure(.unknownTransport("transport=\(request.query["transport"].map { LogSafe.text($0) } ?? "(missing)")"))
        }
        let fits = if let carrier { carrier == kind.name } else { kind.travelsOverHTTP }
        guard fits else {
            let on = carrier.map { "a \($0) connection" } ?? "a plain HTTP request"
            return .failure(.badRequest("transport=\(kind.name) on \(on)"))
        }
        let version = EngineProtocolVersion(query: request.query)
        guard version == .v4 || (version == .v3 && configuration.allowEIO3) else {
            let asked = request.query["EIO"].map { "EIO=\(LogSafe.text($0))" } ?? "no EIO parameter"
            let v3 = version == .v3 ? " (Engine.IO 3 clients are served with --allow-eio3)" : ""
            return .failure(.unsupportedProtocolVersion(
                "\(asked); this server speaks Engine.IO 4 (socket.io-client 3+/4+, python-socketio 5+)\(v3)"))
        }
        if version == .v3, request.query.contains("j") {
            // engine.io 3's JSONP polling (for browsers without CORS) wraps every body in a script; not served.
            return .failure(.badRequest("JSONP polling (j=) is not served; use XHR polling or WebSocket"))
        }
        guard configuration.cors.allows(origin: request.origin) else {
            return .failure(.forbiddenOrigin("origin \(LogSafe.text(request.origin ?? "")) is not in --cors-origins"))
        }
        // The sid's bytes find the session; a String is made of them only when none is open here.
        let found: EngineSession?? = request.query.withValue("sid") { bytes in bytes.map { session(idBytes: $0) } }
        guard let found else {
            if carrier == nil, request.method != .get {
                return .failure(.badHandshakeMethod("a handshake must be a GET"))
            }
            guard kind.canOpenSession else {
                return .failure(.badRequest("transport=\(kind.name) cannot open a session, only be upgraded to"))
            }
            return .success(.handshake(kind))
        }
        guard let session = found else {
            let sid = request.query["sid"] ?? ""
            if carrier == nil, request.method == .get, let grace = closedByClient.removeValue(forKey: sid) {
                grace.cancel()
                return .success(.releasedAfterClose)
            }
            if let node = owningNode(of: sid, hops: request.hops) {
                return .success(.elsewhere(node: node, sid: sid))
            }
            return .failure(.unknownSession("sid=\(LogSafe.text(sid)) is not an open session (expired, closed, or served by another node)"))
        }
        if carrier != nil {
            // A sid that exists but cannot upgrade now (already on this transport, or mid-upgrade) gets its
            // connection accepted and closed at once, as the reference server does: a refused WebSocket
            // handshake would surface as an error event in clients that only listen for close.
            guard configuration.allowUpgrades else {
                return .failure(.badRequest("sid=\(session.id): upgrades are disabled"))
            }
        } else if session.transport.name != kind.name {
            return .failure(.badRequest("sid=\(session.id) uses transport=\(session.transport.name)"))
        }
        return .success(.existing(session, kind.name))
    }

    /// The transports a session on `name` may move to now: its kind's upgrades that are offered.
    public func upgrades(from name: TransportName) -> [TransportName] {
        guard configuration.allowUpgrades, let kind = configuration.registry.kind(named: name) else { return [] }
        return kind.upgradesTo.filter { configuration.transports.contains($0) && configuration.registry.kind(named: $0) != nil }
    }

    /// Logs a refused request; every refusal gets one line naming the peer and the cause.
    public func logRefusal(_ error: EngineRequestError, _ request: HTTPRequest) {
        log.limited(.warn, cause: "refused-\(error.status)-\(error.code)", source: request.peer, "refused peer=\(request.peer) status=\(error.status) code=\(error.code) \"\(error.message)\" \(error.detail)")
    }

    // MARK: Transports built outside the engine

    /// Checks a request that arrived on `carrier`'s connection before that connection is accepted (a
    /// WebSocket handshake before the upgrade); nil means go ahead.
    public func refusal(for request: HTTPRequest, arrivingOn carrier: TransportName) -> EngineRequestError? {
        switch route(request, arrivingOn: carrier) {
        case .success(.handshake): return admitHandshake(request)
        case .success: return nil
        case .failure(let error):
            logRefusal(error, request)
            return error
        }
    }

    /// A transport that does not travel over plain HTTP, built by whoever holds its connection (the
    /// binding for a WebSocket, a test for an in-memory one), for `request`: open a session on it, or start
    /// upgrading the request's session to it. False if it must be closed (it was refused, and logged).
    public func open(_ request: HTTPRequest, on transport: any Transport) -> Bool {
        switch route(request, arrivingOn: transport.name) {
        case .failure(let error):
            logRefusal(error, request)
            return false
        case .success(.handshake):
            openSession(peer: request.peer, transport: transport, version: EngineProtocolVersion(query: request.query) ?? .v4)
        case .success(.releasedAfterClose):
            return false
        case .success(.elsewhere(let node, let sid)):
            return moveIn(sid: sid, from: node, for: transport, request: request)
        case .success(.existing(let session, _)):
            guard session.beginUpgrade(to: transport) else {
                log.limited(.warn, cause: "refused-upgrade", source: request.peer, "refused upgrade sid=\(session.id) peer=\(request.peer): transport=\(session.transport.name) to \(transport.name) state=\(session.state); closing the new connection")
                return false
            }
            log.debug("upgrade probe sid=\(session.id) peer=\(request.peer) transport=\(transport.name)")
        }
        return true
    }

    // MARK: Sessions

    @discardableResult
    func openSession(peer: String, transport: any Transport, version: EngineProtocolVersion = .v4) -> EngineSession {
        let tag = link?.nodeTag
        var sid = tag.map(SessionID.make(nodeTag:)) ?? SessionID.make()
        while sessions[sid] != nil { sid = tag.map(SessionID.make(nodeTag:)) ?? SessionID.make() }
        let session = EngineSession(id: sid, peer: peer, transport: transport, server: self, now: now, protocolVersion: version)
        sessions[sid] = session
        addressLimits.sessionOpened(peer: peer, now: now)
        counters.opened(on: transport.name)
        if version == .v3 { counters.openV3 &+= 1 }
        session.send(EnginePacket(.open, openPacketJSON(sid: sid, transport: transport.name)))
        // A transport may end the session while the open packet is sent (a write that fails at once): the
        // delegate has heard of the close already, and state it made for the session now would never be let go of.
        guard session.state != .closed else { return session }
        schedule(session)
        log.info("open sid=\(sid) peer=\(peer) transport=\(transport.name)\(version == .v3 ? " eio=3" : "")")
        delegate?.engineSessionDidOpen(session)
        return session
    }

    /// The open packet's JSON, built by hand: its strings are the sid and registered transport names,
    /// which need no escaping.
    func openPacketJSON(sid: String, transport: TransportName) -> [UInt8] {
        let upgrades = "[" + upgrades(from: transport).map { "\"\($0)\"" }.joined(separator: ",") + "]"
        return Array(
            ("{\"sid\":\"\(sid)\",\"upgrades\":\(upgrades),\"pingInterval\":\(configuration.pingInterval),"
                + "\"pingTimeout\":\(configuration.pingTimeout),\"maxPayload\":\(configuration.maxPayload)}").utf8)
    }

    /// Called by a session once it has closed.
    func sessionClosed(_ session: EngineSession, reason: DisconnectReason) {
        guard sessions.removeValue(forKey: session.id) != nil else { return }
        addressLimits.sessionClosed(peer: session.peer)
        counters.closed(on: session.transport.name, reason: reason)
        if session.protocolVersion == .v3 { counters.openV3 &-= 1 }
        log.info("close sid=\(session.id) peer=\(session.peer) transport=\(session.transport.name) reason=\"\(reason.rawValue)\"")
        delegate?.engineSession(session, didCloseWith: reason)
    }

    /// Closes every session and its transport; used when the server stops (a WebSocket gets 1001 "going
    /// away", a held poll a 503, so clients reconnect rather than take it as their session's end).
    public func closeAll(reason: DisconnectReason = .serverShutdown) {
        for session in sessions.values { session.close(reason: reason) }
        closeClusterWaits()
    }

    // MARK: Client goodbyes on polling

    /// A polling client POSTed a close packet while none of its GETs was waiting: its GET in flight, if
    /// any, gets a noop instead of "unknown sid" (for pingTimeout, after which the sid is simply unknown).
    func rememberClientClose(sid: String) {
        closedByClient[sid]?.cancel()
        closedByClient[sid] = schedule(after: configuration.pingTimeout) { [unowned self] in
            self.closedByClient.removeValue(forKey: sid)
        }
    }

    // MARK: Timers

    /// Runs `action` on the service thread `delay` milliseconds from now, unless the returned timer is
    /// cancelled first.
    @discardableResult
    public func schedule(after delay: Int64, _ action: @escaping () -> Void) -> EngineTimer {
        if timers.count >= timerSweepSize { sweepCancelledTimers() }
        let timer = EngineTimer(deadline: now + max(delay, 0), action: action)
        timers.insert(timer, deadline: timer.deadline, stamp: 0)
        if timer.deadline < armedWakeup {
            armedWakeup = timer.deadline
            clock.requestWakeup(at: timer.deadline)
        }
        return timer
    }

    /// The heap size below which cancelled timers are left to surface at their deadlines.
    static let minimumTimerSweepSize = 128

    /// Drops cancelled timers from the heap, and sets the next sweep at twice the size left: a connection
    /// storm that cancels every timer early cannot grow the heap past twice its live timers, and a sweep
    /// looks at no more than twice as many timers as were scheduled since the one before.
    private func sweepCancelledTimers() {
        timers.removeAll { !$0.element.isPending }
        timerSweepSize = max(2 * timers.count, Self.minimumTimerSweepSize)
    }

    /// The number of timers waiting in the heap, cancelled ones included (for tests).
    var timerHeapCount: Int { timers.count }

    /// Files the session's next deadline and makes sure the clock wakes us for it.
    func schedule(_ session: EngineSession) {
        session.timerStamp &+= 1
        let deadline = session.nextDeadline
        deadlines.insert(session, deadline: deadline, stamp: session.timerStamp)
        if deadline < armedWakeup {
            armedWakeup = deadline
            clock.requestWakeup(at: deadline)
        }
    }

    /// Runs every deadline that has come. The binding calls it when the clock's wake-up fires.
    public func fireTimers() {
        let now = self.now
        armedWakeup = .max
        while let entry = deadlines.popDue(now: now) {
            let session = entry.element
            guard entry.stamp == session.timerStamp, sessions[session.id] === session else { continue }
            session.heartbeatDeadline(now: now)
        }
        while let entry = timers.popDue(now: now) {
            entry.element.fire()
        }
        let next = min(deadlines.earliest ?? .max, timers.earliest ?? .max)
        if next < armedWakeup {
            armedWakeup = next
            clock.requestWakeup(at: next)
        }
    }
}
