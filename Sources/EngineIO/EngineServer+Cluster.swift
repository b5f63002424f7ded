/// Any node, any request: a session lives on one node of the cluster, and a request for it may arrive at
/// any other (a balancer that knows nothing of Socket.IO). This node finds the holder from the sid alone
/// (a sid names the node that made it, ``SessionID/make(nodeTag:)``; a session that moved on is followed
/// from there), with no broadcast and no lookup:
/// - a polling GET or POST is passed on over ``link`` and answered with the holder's answer: the holder
///   serves it exactly as if it had arrived there (the held long-poll, one GET at a time, 16 packets, noop
///   and close), so the client cannot tell;
/// - a WebSocket (an upgrade) asks the holder for the session itself, which moves here with what the engine
///   and the layer above keep for it, and upgrades here; a WebSocket is never relayed frame by frame.
///
/// Who can send these messages: any node on the message queue (a stated trust boundary, see the README);
/// a passed-on request carries the client's sid, the same credential a direct one needs, and is checked
/// the same way. What bounds them: ``maxWaitingRequests`` and ``maxMovesInProgress`` (503, or the new
/// connection closed, past them), and a deadline on every answer. What if an answer never arrives: after
/// ``nodeAnswerTimeout`` (a ping interval more for a held GET) the client gets the 400 "Session ID unknown"
/// it would get for any ended session, and reconnects.
extension EngineServer {
    /// The most requests that wait on other nodes at once; past it, 503.
    public static let maxWaitingRequests = 10_000
    /// The most WebSockets waiting for their session from another node; past it, the new one is closed.
    public static let maxMovesInProgress = 1_000
    /// The most sessions remembered as moved on from here.
    static let maxMovedAway = 100_000
    /// How long another node may take to answer, in milliseconds, before it counts as gone. A GET the
    /// holder says it holds may take a ping interval more (the holder answers it by the next ping).
    public static let nodeAnswerTimeout: Int64 = 3000
    /// How long a GET passed on here waits before its node is told it is held: a second (well within
    /// ``nodeAnswerTimeout``, Redis's round trip included), or half a ping interval when that is shorter.
    var heldNoticeDelay: Int64 { min(1000, max(configuration.pingInterval / 2, 1)) }

    /// Requests passed between nodes and sessions moved, for `/metrics`.
    public var clusterCounters: ClusterCounters { cluster.counters }

    /// The node that holds `sid` when it is another one and a request may still travel there (a request
    /// that already passed through two nodes is not passed on again: no loops).
    func owningNode(of sid: String, hops: Int) -> String? {
        guard let link, hops < 2 else { return nil }
        if let moved = cluster.movedAway[sid] {
            // Kept while its client keeps coming here: a client that stays on polling after its move.
            moved.timer.cancel()
            cluster.movedAway[sid] = MovedAway(node: moved.node, timer: forgetMoveLater(sid))
            return moved.node
        }
        guard let tag = SessionID.nodeTag(of: sid), tag != link.nodeTag else { return nil }
        return String(tag)
    }

    // MARK: Requests passed on

    /// Passes a polling request on to `node`, which holds its session; its answer goes to `responder`.
    func forward(_ request: HTTPRequest, to node: String, responder: any HTTPResponder, headers: [HTTPHeader], onAbandon: (@escaping () -> Void) -> Void) {
        guard let link else { return }
        guard cluster.waiting.count < Self.maxWaitingRequests,
            case let id = cluster.makeID(),
            link.send(.request(id: id, from: link.nodeTag, ForwardedRequest(request)), to: node)
        else {
            cluster.counters.forwarded[.atBound, default: 0] &+= 1
            let error = EngineRequestError.clusterBusy("\(cluster.waiting.count) requests wait on other nodes (bound \(Self.maxWaitingRequests)) or the message queue is full")
            logRefusal(error, request)
            responder.respond(error.response(headers: headers))
            return
        }
        let timer = schedule(after: Self.nodeAnswerTimeout) { [unowned self] in forwardTimedOut(id) }
        let sid = request.query["sid"] ?? ""
        log.debug("passed on id=\(id) \(request.method.name) sid=\(LogSafe.text(sid)) peer=\(request.peer) to node=\(node)")
        cluster.waiting[id] = WaitingRequest(responder: responder, headers: headers, node: node, peer: request.peer, sid: sid, timer: timer)
        onAbandon { [unowned self] in
            guard let waiting = cluster.waiting.removeValue(forKey: id) else { return }
            waiting.timer.cancel()
            cluster.counters.forwarded[.abandoned, default: 0] &+= 1
            _ = self.link?.send(.abandoned(id: id, from: link.nodeTag), to: node)
        }
    }

    /// No answer in time: the holder is gone (killed, stopped, cut off). The client hears what it would of
    /// any ended session, and reconnects; the holder, if it is only slow, lets go of the request.
    private func forwardTimedOut(_ id: UInt64) {
        guard let waiting = cluster.waiting.removeValue(forKey: id), let link else { return }
        cluster.counters.forwarded[.ownerGone, default: 0] &+= 1
        log.limited(.warn, cause: "node-no-answer", source: waiting.node, "no answer from node \(waiting.node) for sid=\(LogSafe.text(waiting.sid)) peer=\(waiting.peer) in time; answered Session ID unknown")
        _ = link.send(.abandoned(id: id, from: link.nodeTag), to: waiting.node)
        waiting.responder.respond(EngineRequestError.unknownSession("node \(waiting.node) did not answer").response(headers: waiting.headers))
    }

    /// Serves a request another node passed on, as if it had arrived here.
    private func serveForwarded(id: UInt64, from node: String, _ forwarded: ForwardedRequest) {
        guard let link, node != link.nodeTag, forwarded.query.contains("sid") else { return }
        cluster.counters.served &+= 1
        log.debug("serving id=\(id) \(forwarded.method.name) sid=\(LogSafe.text(forwarded.query["sid"] ?? "")) for node=\(node)")
        let responder = RemoteResponder(server: self, node: node, id: id)
        let key = ServedRequest(node: node, id: id)
        handle(forwarded.request(path: configuration.path), responder: responder) { [unowned self] abandon in
            if !responder.answered { cluster.served[key] = abandon }
        }
        if !responder.answered, forwarded.method == .get {
            // Told only of a GET still held a moment later: most are answered sooner (a reply, a broadcast),
            // and then the answer itself says the owner lives, with one message fewer per request.
            responder.heldNotice = schedule(after: heldNoticeDelay) { [unowned self, responder] in
                responder.heldNotice = nil
                guard !responder.answered else { return }
                _ = self.link?.send(.held(id: id), to: node)
            }
        }
    }

    // MARK: Sessions moved

    /// A WebSocket arrived for a session `node` holds: ask for the session, and hold the socket (and what
    /// the client sends on it) until it comes. False when it must be closed now.
    func moveIn(sid: String, from node: String, for transport: any Transport, request: HTTPRequest) -> Bool {
        guard let link else { return false }
        guard cluster.moves.count < Self.maxMovesInProgress,
            case let id = cluster.makeID(),
            link.send(.moveRequest(id: id, from: link.nodeTag, sid: sid), to: node)
        else {
            cluster.counters.moves[.atBound, default: 0] &+= 1
            log.limited(.warn, cause: "moves-at-bound", source: request.peer, "refused upgrade sid=\(sid) peer=\(request.peer): \(cluster.moves.count) moves under way (bound \(Self.maxMovesInProgress)) or the message queue is full; closing the new connection")
            return false
        }
        let timer = schedule(after: Self.nodeAnswerTimeout) { [unowned self] in moveTimedOut(id) }
        cluster.moves[id] = PendingMove(sid: sid, node: node, peer: request.peer, transport: transport, timer: timer)
        log.debug("move asked sid=\(sid) peer=\(request.peer) from node=\(node)")
        return true
    }

    private func moveTimedOut(_ id: UInt64) {
        guard let pending = cluster.moves.removeValue(forKey: id) else { return }
        cluster.counters.moves[.ownerGone, default: 0] &+= 1
        log.limited(.warn, cause: "node-no-answer", source: pending.node, "no answer from node \(pending.node) to move sid=\(pending.sid) peer=\(pending.peer) in time; closing the new connection")
        pending.transport.close()
    }

    /// Another node holds a new connection for one of this node's sessions: the session goes there.
    private func moveOut(sid: String, to node: String, id: UInt64) {
        guard let link, node != link.nodeTag else { return }
        func refuse(_ reason: String) {
            cluster.counters.moves[.refused, default: 0] &+= 1
            log.info("refused move sid=\(LogSafe.text(sid)) to node=\(node): \(reason)")
            _ = link.send(.moveAnswer(id: id, nil, reason: reason), to: node)
        }
        guard let session = session(id: sid) else { return refuse("no such session here") }
        let transportName = session.transport.name
        guard configuration.registry.kind(named: transportName)?.travelsOverHTTP == true, session.state == .open else {
            return refuse("the session is on \(transportName) in state \(session.state)")
        }
        guard let state = delegate.map({ $0.engineSessionWillMove(session) }) ?? [] else {
            return refuse("the application cannot let it go now")
        }
        guard let queued = session.moveOut() else { return refuse("the session cannot move now") }
        sessions.removeValue(forKey: sid)
        addressLimits.sessionClosed(peer: session.peer)
        counters.movedOut(on: transportName)
        cluster.counters.moves[.movedOut, default: 0] &+= 1
        rememberMove(sid, to: node)
        log.info("moved sid=\(sid) peer=\(session.peer) to node=\(node)")
        let moved = MovedSession(sid: sid, peer: session.peer, transport: transportName, queued: queued, state: state)
        if !link.send(.moveAnswer(id: id, moved, reason: ""), to: node) {
            log.error("move sid=\(sid) peer=\(session.peer): the message queue refused the session for node \(node); it is lost and its client will reconnect")
        }
    }

    private func rememberMove(_ sid: String, to node: String) {
        guard cluster.movedAway.count < Self.maxMovedAway else {
            log.limited(.warn, cause: "moved-away-bound", source: "-", "\(Self.maxMovedAway) moved sessions remembered: requests for sid=\(sid) will not be passed on to node \(node)")
            return
        }
        cluster.movedAway[sid]?.timer.cancel()
        cluster.movedAway[sid] = MovedAway(node: node, timer: forgetMoveLater(sid))
    }

    /// A moved session is forgotten here a ping interval and timeout after its client last came here: by
    /// then a client that upgraded sends nothing here any more, and one that did not has polled again.
    private func forgetMoveLater(_ sid: String) -> EngineTimer {
        schedule(after: configuration.pingInterval + configuration.pingTimeout) { [unowned self] in
            cluster.movedAway.removeValue(forKey: sid)
        }
    }

    /// The answer to a move this node asked for. A session that comes after its deadline is still taken in
    /// (its old node let go of it): it goes on here over polling, its new connection gone.
    private func moveArrived(id: UInt64, _ moved: MovedSession?, reason: String) {
        let pending = cluster.moves.removeValue(forKey: id)
        pending?.timer.cancel()
        guard let moved else {
            cluster.counters.moves[.refused, default: 0] &+= 1
            if let pending {
                log.info("upgrade sid=\(pending.sid) peer=\(pending.peer): node \(pending.node) did not move the session (\(LogSafe.text(reason))); closing the new connection")
            }
            pending?.transport.close()
            return
        }
        guard pending.map({ $0.sid == moved.sid }) ?? true, sessions[moved.sid] == nil,
            let make = configuration.registry.kind(named: moved.transport)?.makeForHTTP
        else {
            cluster.counters.moves[.refused, default: 0] &+= 1
            log.warn("move sid=\(LogSafe.text(moved.sid)): not taken in (a sid asked for otherwise, one open here already, or transport=\(LogSafe.text(moved.transport.description)) unknown)")
            pending?.transport.close()
            return
        }
        let session = EngineSession(id: moved.sid, peer: moved.peer, transport: make(configuration), server: self, now: now)
        sessions[moved.sid] = session
        addressLimits.sessionOpened(peer: moved.peer, now: now)
        counters.movedIn(on: moved.transport)
        cluster.counters.moves[.movedIn, default: 0] &+= 1
        session.restoreQueue(moved.queued)
        schedule(session)
        guard delegate.map({ $0.engineSession(session, didMoveInWith: moved.state) }) ?? moved.state.isEmpty else {
            log.warn("move sid=\(moved.sid) peer=\(moved.peer): the application could not take its state; closing")
            session.close(reason: .forcedClose)
            pending?.transport.close()
            return
        }
        log.info("moved in sid=\(moved.sid) peer=\(moved.peer)")
        guard let pending else { return }
        guard pending.transport.isWritable, session.beginUpgrade(to: pending.transport) else {
            pending.transport.close()
            return
        }
        log.debug("upgrade probe sid=\(moved.sid) peer=\(moved.peer) transport=\(pending.transport.name)")
        pending.transport.releaseHeldPackets()
    }

    // MARK: Messages from other nodes

    /// A message from another node, addressed to this one. Service thread (the link hands it over).
    public func receive(_ message: NodeMessage) {
        switch message {
        case .request(let id, let node, let forwarded):
            serveForwarded(id: id, from: node, forwarded)
        case .response(let id, let response):
            guard let waiting = cluster.waiting.removeValue(forKey: id) else { return }  // answered 400 already
            log.debug("answer id=\(id) status=\(response.status) bytes=\(response.body.count) sid=\(waiting.sid)")
            waiting.timer.cancel()
            cluster.counters.forwarded[.answered, default: 0] &+= 1
            waiting.responder.respond(response)
        case .held(let id):
            guard var waiting = cluster.waiting[id] else { return }
            waiting.timer.cancel()
            waiting.timer = schedule(after: configuration.pingInterval + Self.nodeAnswerTimeout) { [unowned self] in forwardTimedOut(id) }
            cluster.waiting[id] = waiting
        case .abandoned(let id, let node):
            log.debug("abandoned id=\(id) by node=\(node)")
            cluster.served.removeValue(forKey: ServedRequest(node: node, id: id))?()
        case .moveRequest(let id, let node, let sid):
            moveOut(sid: sid, to: node, id: id)
        case .moveAnswer(let id, let moved, let reason):
            moveArrived(id: id, moved, reason: reason)
        case .upper(let node, let message):
            delegate?.engineServer(self, receivedFrom: node, message)
        }
    }

    /// This node's tag in the cluster, when it is in one.
    public var nodeTag: String? { link?.nodeTag }

    /// Sends the layer above on node `node` a message of the layer above here. False when there is no
    /// cluster or the link's queue is full.
    public func sendUpper(_ message: [UInt8], to node: String) -> Bool {
        guard let link, node != link.nodeTag else { return false }
        return link.send(.upper(from: link.nodeTag, message), to: node)
    }

    /// The server stops: requests waiting on other nodes get the 503 a held poll gets, and WebSockets
    /// waiting for their session close with "going away".
    func closeClusterWaits() {
        for (_, waiting) in cluster.waiting {
            waiting.timer.cancel()
            waiting.responder.respond(
                HTTPResponse(status: 503, contentType: "application/json", headers: waiting.headers, body: Array("{\"code\":503,\"message\":\"Server shutting down\"}".utf8)))
        }
        cluster.waiting.removeAll()
        for (_, pending) in cluster.moves {
            pending.timer.cancel()
            pending.transport.close(reason: .serverShutdown)
        }
        cluster.moves.removeAll()
    }
}

/// Where the answer to a request another node passed on goes: back to that node.
final class RemoteResponder: HTTPResponder {
    unowned let server: EngineServer
    let node: String
    let id: UInt64
    private(set) var answered = false
    var isPassedOn: Bool { true }
    /// The timer that tells the asking node its GET is held, until the answer makes it moot.
    var heldNotice: EngineTimer?

    init(server: EngineServer, node: String, id: UInt64) {
        self.server = server
        self.node = node
        self.id = id
    }

    func respond(_ response: HTTPResponse) {
        guard !answered else { return }
        answered = true
        heldNotice?.cancel()
        heldNotice = nil
        server.cluster.served.removeValue(forKey: ServedRequest(node: node, id: id))
        _ = server.link?.send(.response(id: id, response), to: node)
    }
}
