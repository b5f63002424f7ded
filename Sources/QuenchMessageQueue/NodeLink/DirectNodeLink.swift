import EngineIO

/// `--node-link`: node messages go straight to their node over TCP, and through the message queue only
/// when no link to that node is up. A forwarded polling request otherwise crosses loopback TCP twice
/// through Redis (entry → Redis → owner) and costs Redis its own time per reply.
///
/// Each node listens on its `--node-link` address and announces it, with a token it made at start, on the
/// shared channel (``LinkAnnouncement``); every node connects to every other one it heard of, and sends
/// its messages for that node on its own outbound connection (inbound ones only receive). The first frame
/// is a hello naming the sender's tag and the listener's token; the listener answers with a welcome, and
/// only then does the connector send messages there. Whoever reads the channel can connect: the broker stays
/// the trust boundary.
///
/// Order per destination: once a message went on a link, later ones for that node go on it too while it is
/// up (a full link queue refuses, and the engine answers at once); when it breaks, what was not written goes
/// to the message queue, in order. A link that comes up right after messages went through the queue holds
/// its first messages ``corkAfterQueue`` ms so that it does not overtake them.
///
/// Nothing here runs on a fixed beat: ``tick()`` asks for the next one when something falls due (an
/// announcement, a retry, a hello's deadline, a cork's end), because every wake of lws 4.1's loop polls every
/// descriptor the server has, which is milliseconds with thousands of polling clients.
///
/// Service thread only (announcements read on another thread are posted to it).
public final class DirectNodeLink: NodeLink, @unchecked Sendable {
    public let nodeTag: String
    public let counters = NodeLinkCounters()
    /// Where this node listens, as announced.
    package let address: LinkAddress
    /// This node's token: 64 hex digits, made at start.
    package let token: String
    let tokenBytes: [UInt8]
    private let hostID: String
    private let fallback: any NodeLink
    /// Weak: the binding owns the links' sockets and, through its timers and engines, this link.
    private weak var network: (any LinkNetwork)?
    private let publish: ([UInt8]) -> Void
    private let isSubscribed: () -> Bool
    let log: Logger
    let now: () -> Int64
    /// The engine's ``EngineIO/EngineServer/receive(_:)``.
    package var deliver: ((NodeMessage) -> Void)?
    private var peers: [String: LinkPeer] = [:]
    private var inbound: [ObjectIdentifier: InboundLink] = [:]
    private var lastAnnounced: Int64?
    private var lastExtraAnnounce: Int64 = .min / 2
    /// An announcement owed to a node heard of within a second of the last extra one (sent by ``tick()``).
    private var extraAnnounceDue: Int64?
    /// Asks for ``tick()`` at the given time (``now``'s milliseconds), replacing an earlier request.
    package var requestTick: ((Int64) -> Void)?
    /// When the requested tick is due; `.max` when none is.
    private var tickDue: Int64 = .max
    private var isTicking = false

    package static let announceEvery: Int64 = 10_000
    package static let forgetAfter: Int64 = 30_000
    package static let helloTimeout: Int64 = 3_000
    package static let retryAfter: Int64 = 1_000
    package static let maxInbound = 256
    /// Nodes known at once. Whoever can publish on the channel can announce made-up nodes, and each known
    /// node costs a connection (retried every second): past the bound a new one is ignored, and its
    /// messages go through the message queue. As many as the inbound bound: a larger cluster could not
    /// link every pair anyway.
    package static let maxPeers = 256
    package static let maxQueuedBytes = 4 * 1024 * 1024
    package static let corkAfterQueue: Int64 = 200
    /// How often a node not yet subscribed looks again, to announce itself once it is.
    package static let subscriptionCheckEvery: Int64 = 1_000

    /// - Parameters:
    ///   - nodeTag: this node's tag (the message queue's).
    ///   - hostID: the message queue's host id (the announcement's `host_id`).
    ///   - address: where this node listens for the others (numeric).
    ///   - network: the binding's sockets.
    ///   - fallback: the message queue's own link.
    ///   - publish: puts raw bytes on the shared channel.
    ///   - isSubscribed: whether the message queue is subscribed (announcing before would be lost).
    ///   - token: this node's token; default a new random one.
    ///   - now: monotonic milliseconds.
    package init(
        nodeTag: String, hostID: String, address: LinkAddress, network: any LinkNetwork, fallback: any NodeLink, publish: @escaping ([UInt8]) -> Void,
        isSubscribed: @escaping () -> Bool, log: Logger, token: String = DirectNodeLink.makeToken(), now: @escaping () -> Int64 = ConnectPacing.now
    ) {
        self.nodeTag = nodeTag
        self.hostID = hostID
        self.address = address
        self.network = network
        self.fallback = fallback
        self.publish = publish
        self.isSubscribed = isSubscribed
        self.log = log
        self.token = token
        tokenBytes = Array(token.utf8)
        self.now = now
    }

    /// In front of `queue`: listens on `address` and becomes `engine`'s link. Service thread, after the
    /// queue started. Nil on success, else why it cannot listen.
    public static func start(
        in queue: any MessageQueue, engine: EngineServer, address text: String, network: any LinkNetwork, executor: any ServiceExecutor, log: Logger
    ) -> (DirectNodeLink?, String?) {
        guard let address = LinkAddress(parsing: text, allowNames: false) else { return (nil, "--node-link \(text) is not a numeric HOST:PORT") }
        let link = DirectNodeLink(
            nodeTag: queue.nodeTag, hostID: queue.hostID, address: address, network: network, fallback: queue, publish: { [queue] in queue.publishOnChannel($0) },
            isSubscribed: { [queue] in queue.counters.snapshot().connected }, log: log)
        if let problem = link.listen() { return (nil, "--node-link \(address): \(problem)") }
        link.deliver = { [weak engine] in engine?.receive($0) }
        engine.link = link
        var pending: EngineTimer?
        link.requestTick = { [weak link, weak engine] time in
            pending?.cancel()
            guard let link, let engine else { return }
            pending = engine.schedule(after: time - link.now()) { [weak link] in link?.tick() }
        }
        link.tick()
        queue.receiveLinkAnnouncements { [weak link] payload, here in
            if here { return link?.announced(payload) ?? () }
            executor.execute { [weak link] in link?.announced(payload) }
        }
        return (link, nil)
    }

    /// 32 random bytes as 64 lowercase hex digits, from the generator that makes host ids and sids.
    package static func makeToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for _ in 0..<32 {
            let byte = UInt8(truncatingIfNeeded: generator.next())
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Listens for the other nodes; nil on success.
    package func listen() -> String? {
        guard let network else { return "the server is gone" }
        return network.listenForLinks(host: address.host, port: address.port) { [weak self] socket in self?.accepted(socket) }
    }

    // MARK: Sending

    public func send(_ message: NodeMessage, to node: String) -> Bool {
        let time = now()
        if let peer = peers[node] {
            if let link = peer.link, link.isUp {
                // The compact form: only quench nodes of this version read the link (the message queue keeps JSON).
                let frame = LinkFrame.frame(NodeMessageCodec.encodeCompact(message))
                guard link.queuedBytes + frame.count <= Self.maxQueuedBytes else {
                    log.limited(
                        .warn, cause: "node-link-full", source: node,
                        "node link: the link to node \(node) has \(link.queuedBytes) bytes waiting; a message for it of \(frame.count) bytes is refused")
                    return false
                }
                link.enqueue(frame, message)
                link.flush(at: time)
                return true
            }
            if peer.link == nil, time >= peer.retryAt { connect(peer, at: time) }
            peer.lastQueuedAt = time
        }
        counters.add(counters.fallback, 1)
        return fallback.send(message, to: node)
    }

    private func connect(_ peer: LinkPeer, at time: Int64) {
        peer.retryAt = time + Self.retryAfter
        guard let socket = network?.connectLink(host: peer.address.host, port: peer.address.port) else {
            log.limited(.warn, cause: "node-link-connect", source: peer.tag, "node link: cannot connect to node \(peer.tag) at \(peer.address)")
            return tick(dueAt: peer.retryAt)
        }
        tick(dueAt: time + Self.helloTimeout + 1)
        let link = OutboundLink(owner: self, peer: peer, socket: socket, startedAt: time)
        socket.handler = link
        peer.link = link
        link.enqueue(LinkFrame.frame(LinkHello.hello(tag: nodeTag, token: peer.token)), nil)
        link.flush(at: time)
    }

    /// The link to `peer` is up (its welcome came).
    func linkUp(_ link: OutboundLink) {
        counters.add(counters.connections, 1)
        let corkUntil = link.peer.lastQueuedAt + Self.corkAfterQueue
        link.corkUntil = corkUntil
        if corkUntil > now() { tick(dueAt: corkUntil) }
        log.info("node link: connected to node \(link.peer.tag) at \(link.peer.address)")
    }

    /// The link to its peer ended: what it did not write goes through the message queue, in order.
    func linkFailed(_ link: OutboundLink, _ reason: String) {
        link.socket.handler = nil
        link.socket.close()
        let peer = link.peer
        guard peer.link === link else { return }
        peer.link = nil
        let time = now()
        peer.retryAt = time + Self.retryAfter
        tick(dueAt: peer.retryAt)
        if link.isUp { counters.add(counters.connections, -1) }
        let unwritten = link.takeUnwritten()
        if !unwritten.isEmpty { peer.lastQueuedAt = time }
        for message in unwritten {
            counters.add(counters.fallback, 1)
            _ = fallback.send(message, to: peer.tag)
        }
        log.limited(
            .warn, cause: "node-link-lost", source: peer.tag,
            "node link: link to node \(peer.tag) at \(peer.address) ended (\(reason)); \(unwritten.count) unwritten message(s) go through the message queue")
    }

    // MARK: Receiving

    private func accepted(_ socket: any LinkSocket) {
        guard inbound.count < Self.maxInbound else {
            socket.close()
            counters.add(counters.authRefused, 1)
            log.limited(
                .warn, cause: "node-link-refused", source: socket.peerAddress,
                "node link: refused a connection from \(LogSafe.text(socket.peerAddress)): \(Self.maxInbound) link connections are open already")
            return
        }
        let link = InboundLink(owner: self, socket: socket, acceptedAt: now())
        socket.handler = link
        inbound[ObjectIdentifier(link)] = link
        tick(dueAt: link.acceptedAt + Self.helloTimeout + 1)
    }

    /// A connecting node's hello: whether it names this node's token and a tag that is not this one's.
    func admits(tag: String, token: [UInt8]) -> Bool {
        LinkHello.sameToken(token, tokenBytes) && tag != nodeTag
    }

    func inboundAuthenticated(_ link: InboundLink) {
        counters.add(counters.connections, 1)
        log.info("node link: node \(link.peerTag ?? "?") connected from \(LogSafe.text(link.socket.peerAddress))")
    }

    /// Closes an inbound connection; `refusal` is the warning when it was refused.
    func closeInbound(_ link: InboundLink, refusal: String?) {
        link.socket.handler = nil
        link.socket.close()
        guard inbound.removeValue(forKey: ObjectIdentifier(link)) != nil else { return }
        if link.peerTag != nil { counters.add(counters.connections, -1) }
        if let refusal {
            if link.peerTag == nil { counters.add(counters.authRefused, 1) }
            log.limited(.warn, cause: "node-link-refused", source: link.socket.peerAddress, "node link: closed the connection from \(LogSafe.text(link.socket.peerAddress)): \(refusal)")
        }
    }

    func received(_ frame: [UInt8], from link: InboundLink) {
        do throws(NodeMessageError) {
            let message = try NodeMessageCodec.decode(frame)
            counters.add(counters.framesReceived, 1)
            deliver?(message)
        } catch {
            counters.add(counters.badFrames, 1)
            log.limited(
                .warn, cause: "node-link-bad-frame", source: link.peerTag ?? link.socket.peerAddress,
                "node link: skipped a frame of \(frame.count) bytes from node \(link.peerTag ?? "?") that is not a node message: \(error)")
        }
    }

    // MARK: Peers

    /// A `quench_link` message from the shared channel. Service thread.
    package func announced(_ payload: [UInt8]) {
        let announcement: LinkAnnouncement
        do throws(PubSubMessageError) {
            announcement = try LinkAnnouncement.decode(payload)
        } catch {
            log.limited(.warn, cause: "node-link-announcement", source: "channel", "node link: skipped an announcement on the channel: \(error)")
            return
        }
        guard announcement.tag != nodeTag else { return }
        let time = now()
        if let peer = peers[announcement.tag] {
            peer.lastHeard = time
            guard peer.address != announcement.address || peer.token != announcement.token else { return }
            peer.address = announcement.address
            peer.token = announcement.token
            if let link = peer.link { linkFailed(link, "the node announced a new address or token") }
            return
        }
        // A node restarted on the same address has a new tag: the old one is gone, and its token would be refused.
        for old in peers.values where old.address == announcement.address { forget(old, "a node with another tag announced its address") }
        guard peers.count < Self.maxPeers else {
            counters.add(counters.peersIgnored, 1)
            log.limited(
                .warn, cause: "node-link-peers", source: "channel",
                "node link: ignored node \(announcement.tag) at \(announcement.address): \(Self.maxPeers) nodes are known already; its messages go through the message queue")
            return
        }
        let peer = LinkPeer(tag: announcement.tag, address: announcement.address, token: announcement.token, heard: time)
        peers[announcement.tag] = peer
        log.info("node link: node \(peer.tag) listens at \(peer.address)")
        connect(peer, at: time)
        // A node not heard of before may have started just now: it learns of this one at once (at most one
        // such announcement a second: several nodes starting together get the next one).
        if time - lastExtraAnnounce >= 1000 {
            lastExtraAnnounce = time
            announce(at: time)
        } else {
            extraAnnounceDue = lastExtraAnnounce + 1000
            tick(dueAt: lastExtraAnnounce + 1000)
        }
        tick(dueAt: time + Self.forgetAfter + 1)
    }

    private func forget(_ peer: LinkPeer, _ reason: String) {
        peers[peer.tag] = nil
        log.info("node link: node \(peer.tag) forgotten: \(reason)")
        if let link = peer.link { linkFailed(link, "node forgotten") }
    }

    private func announce(at time: Int64) {
        lastAnnounced = time
        publish(LinkAnnouncement(tag: nodeTag, address: address, token: token).encode(hostID: hostID))
    }

    /// Announces, forgets silent peers, reconnects, ends hellos that did not come and releases corked
    /// links; then asks for the next tick, when the first of these falls due. Service thread.
    public func tick() {
        let time = now()
        isTicking = true
        tickDue = .max
        var next = Int64.max
        if let due = extraAnnounceDue {
            if time >= due {
                extraAnnounceDue = nil
                lastExtraAnnounce = time
                announce(at: time)
            } else {
                next = min(next, due)
            }
        }
        if isSubscribed() {
            if lastAnnounced.map({ time - $0 >= Self.announceEvery }) ?? true { announce(at: time) }
            next = min(next, (lastAnnounced ?? time) + Self.announceEvery)
        } else {
            next = min(next, time + Self.subscriptionCheckEvery)
        }
        for peer in Array(peers.values) {
            if time - peer.lastHeard > Self.forgetAfter {
                forget(peer, "not announced for \(Self.forgetAfter / 1000) s")
                continue
            }
            next = min(next, peer.lastHeard + Self.forgetAfter + 1)
            if let link = peer.link {
                if !link.isUp, time - link.startedAt > Self.helloTimeout {
                    linkFailed(link, "no welcome within \(Self.helloTimeout / 1000) s")
                } else if link.isUp {
                    link.flush(at: time)
                    if link.corkUntil > time { next = min(next, link.corkUntil) }
                } else {
                    next = min(next, link.startedAt + Self.helloTimeout + 1)
                }
            } else if time >= peer.retryAt {
                connect(peer, at: time)
            } else {
                next = min(next, peer.retryAt)
            }
        }
        for link in Array(inbound.values) where link.peerTag == nil {
            if time - link.acceptedAt > Self.helloTimeout {
                closeInbound(link, refusal: "no hello within \(Self.helloTimeout / 1000) s")
            } else {
                next = min(next, link.acceptedAt + Self.helloTimeout + 1)
            }
        }
        isTicking = false
        // What the work above scheduled (a connection's hello, a retry) is in tickDue already.
        let due = min(next, tickDue)
        tickDue = .max
        tick(dueAt: due)
    }

    /// Makes sure a tick comes by `time`.
    private func tick(dueAt time: Int64) {
        guard time < tickDue else { return }
        tickDue = time
        if !isTicking { requestTick?(time) }
    }

    /// Tags of the peers known now (tests).
    package var knownPeers: [String] { peers.keys.sorted() }
    /// Whether the outbound link to `tag` is up (tests).
    package func isLinked(to tag: String) -> Bool { peers[tag]?.link?.isUp ?? false }
}
