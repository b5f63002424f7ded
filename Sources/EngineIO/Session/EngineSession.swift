/// One Engine.IO client: its sid, its transport (and the one it may be upgrading to), its outbound
/// queue and its heartbeat. Lives on the service thread only; created and owned by ``EngineServer``.
public final class EngineSession {
    /// Where the session stands (see ``SessionLifecycle``).
    public typealias State = SessionLifecycle.State

    /// The Engine.IO sid, as sent in the open packet.
    public let id: String
    /// The protocol revision the client spoke at its handshake (v3 only with `allowEIO3`).
    public let protocolVersion: EngineProtocolVersion
    /// The client's address, for logs.
    public let peer: String
    /// The transport that carries packets now.
    public private(set) var transport: any Transport {
        didSet { webSocket = Self.webSocket(of: transport) }
    }
    /// The current transport's socket when it is a WebSocket (nil over polling): a broadcast's shared frame
    /// goes straight to it, one object from here rather than two. A WebSocket transport that closes always
    /// closes this socket first, and a closed socket drops what it is sent, so no check of the transport
    /// is needed on the way. Unowned(unsafe), so a broadcast does not retain and release it per recipient:
    /// ``transport`` holds it (a WebSocket transport's connection is a `let`) whenever this is set.
    private unowned(unsafe) var webSocket: (any WebSocketConnection)?
    /// The transport being probed during an upgrade.
    public private(set) var probingTransport: (any Transport)?
    /// Decides what each packet, upgrade, transport end, close and deadline does; this class does the I/O.
    private var lifecycle: SessionLifecycle
    public var state: State { lifecycle.state }
    /// Packets waiting for the transport to become writable (a polling client's next GET), bounded by
    /// ``writeBudget``.
    private var writeBuffer: [EnginePacket] = []
    /// The bytes in ``writeBuffer`` against `--max-buffered`; past it the session ends ("transport error").
    private var writeBudget: OutboundBudget
    /// Where the ping awaiting its pong stands in the outbound stream: the position just past it, in the
    /// session's own queue or in the transport's. A pong counts only once the ping has left.
    private var pingMark: (inSession: Bool, end: Int, transport: ObjectIdentifier)?
    /// The timer that releases the held GET with the owed noop (see ``flush()``).
    private var noopTimer: EngineTimer?
    /// The upper layer's per-session state (Socket.IO keeps its namespaces here).
    public var context: AnyObject?
    var heartbeat: Heartbeat
    /// While `.closing`: when to give up waiting for the client to collect its packets.
    private var closeDeadline: Int64?
    /// The next moment the server's timer must look at this session.
    var nextDeadline: Int64 { closeDeadline ?? heartbeat.deadline }
    /// Bumped whenever the heartbeat deadline moves, so stale timer entries can be told apart.
    var timerStamp: UInt32 = 0
    unowned let server: EngineServer
    /// The server's message counters, held strongly so a reply does not load ``server`` to count.
    private let traffic: TrafficCounters
    /// Pongs and noops the client may send (EngineSession+Budget.swift).
    var controlBudget: ClientBudget

    var log: Logger { server.log }

    init(id: String, peer: String, transport: any Transport, server: EngineServer, now: Int64, protocolVersion: EngineProtocolVersion = .v4) {
        self.id = id
        self.protocolVersion = protocolVersion
        lifecycle = SessionLifecycle(clientPings: protocolVersion == .v3)
        self.peer = peer
        self.transport = transport
        self.webSocket = Self.webSocket(of: transport)
        self.server = server
        self.traffic = server.counters.traffic
        self.heartbeat = Heartbeat(
            interval: server.configuration.pingInterval, timeout: server.configuration.pingTimeout, now: now,
            clientPings: protocolVersion == .v3)
        self.writeBudget = OutboundBudget(limit: server.configuration.maxBuffered, memory: server.outboundMemory)
        self.controlBudget = server.configuration.budgets.budget(.pings, now: now)
        transport.session = self
    }

    // MARK: Sending

    /// Queues a packet for the client; it leaves at once if the transport can take it.
    public func send(_ packet: EnginePacket) {
        guard lifecycle.isSending else { return }
        traffic.sent(packet)
        if writeBuffer.isEmpty, transport.isWritable {
            transport.send(packet)
        } else if enqueue(packet) {
            flush()
        }
    }

    /// Queues a broadcast's packet, framed once for all its recipients: a WebSocket with nothing waiting
    /// writes the shared frame as it is; otherwise the packet takes the path of ``send(_:)-(EnginePacket)``.
    public func sendShared(_ frame: SharedTextFrame) {
        guard lifecycle.isSending else { return }
        if frame.packet.type == .message { traffic.sentMessage(payloadBytes: frame.countedLength &- 1) }
        if writeBuffer.isEmpty {
            if let webSocket {
                webSocket.sendShared(frame)
            } else if transport.isWritable {
                transport.send(frame.packet)
            } else if enqueue(frame.packet) {
                flush()
            }
        } else if enqueue(frame.packet) {
            flush()
        }
    }

    private static func webSocket(of transport: any Transport) -> (any WebSocketConnection)? {
        transport.frameConnection
    }

    /// Queues several packets that belong together (a binary event and its attachments).
    public func send(_ packets: [EnginePacket]) {
        guard lifecycle.isSending else { return }
        for packet in packets {
            guard enqueue(packet) else { return }
            traffic.sent(packet)
        }
        flush()
    }

    /// The most packets one polling response carries: python-engineio's client refuses a payload of more
    /// (`max_decode_packets`, 16) and reconnects, losing them all; the rest wait for the next GET.
    public static let maxPacketsPerPoll = 16

    /// What a packet counts against the budget: its payload and type digit (the framing is not counted).
    private static func outboundSize(_ packet: EnginePacket) -> Int { packet.payload.count &+ 1 }

    /// Appends to ``writeBuffer`` if the budget allows; otherwise ends the session. False if it ended.
    private func enqueue(_ packet: EnginePacket) -> Bool {
        let size = Self.outboundSize(packet)
        if writeBudget.passesTotal(adding: size) {
            server.outboundMemory.reclaim(needing: size)
            guard lifecycle.isSending else { return false }
        }
        guard writeBudget.add(size) else {
            outboundLimitReached(queued: writeBudget.queued &+ size, on: transport)
            return false
        }
        writeBuffer.append(packet)
        return true
    }

    /// A queue of this session (its own, or its transport's) would pass `--max-buffered`: the client is not
    /// reading. One warning, then the session ends with "transport error" and its queue is dropped.
    func outboundLimitReached(queued: Int, on source: any Transport) {
        let action = lifecycle.handle(.outboundLimitReached(from: self.source(of: source)))
        switch action {
        case .abandonProbe:
            log.warn("outbound limit sid=\(id) peer=\(peer) queued=\(queued) bytes on the upgrade probe (--max-buffered \(server.configuration.maxBuffered)); probe abandoned")
        case .finish:
            server.outboundMemory.clientLimitCloses &+= 1
            log.warn("outbound limit sid=\(id) peer=\(peer) queued=\(queued) bytes > --max-buffered \(server.configuration.maxBuffered): the client is not reading; closing")
        default:
            break
        }
        perform(action)
    }

    /// The bytes waiting for this client: its own queue and its transports' (``EngineServer/reclaimOutboundMemory(needing:)``).
    var queuedBytes: Int {
        writeBudget.queued &+ transport.outbound.queued &+ (probingTransport?.outbound.queued ?? 0)
    }

    /// All clients' queues together reached `--max-buffered-total` and this client holds the most unread
    /// bytes: it is closed as at its own limit ("transport error", queues dropped). A client causes this,
    /// so the line is throttled.
    /// - Parameter total: what all clients' queues would hold with the packet that is waiting.
    func outboundMemoryReached(queued: Int, total: Int) {
        log.limited(.warn, cause: "outbound-memory", source: peer, "outbound memory sid=\(id) peer=\(peer) queued=\(queued) bytes, the most of any client, while all clients' queues would reach \(total) bytes > --max-buffered-total \(server.configuration.maxBufferedTotal): closing")
        perform(lifecycle.handle(.outboundLimitReached(from: .current)))
    }

    /// Which of this session's transports `transport` is, for the lifecycle.
    private func source(of other: any Transport) -> SessionLifecycle.Source {
        if other === transport { return .current }
        if let probingTransport, other === probingTransport { return .probe }
        return .other
    }

    /// Hands queued packets to the transport if it can take them. Transports call this when they
    /// become writable (a polling GET arrived).
    public func flush() {
        guard transport.isWritable else { return }
        if writeBuffer.isEmpty {
            if lifecycle.owesNoop, noopTimer == nil {
                // The noop waits until the input already received has been handled (a zero-delay timer runs
                // after the current batch of socket events): if the client's upgrade packet is in that batch,
                // the GET learns the session has moved to WebSocket instead of getting a noop that would
                // depend on which socket the server happened to read first. A real client sends the upgrade
                // packet only after this GET has returned, so it never waits longer than one loop turn.
                noopTimer = server.schedule(after: 0) { [weak self] in self?.releasePollWithNoop() }
            }
            return
        }
        let batch: [EnginePacket]
        let most = transport.maxPacketsPerSend
        if writeBuffer.count > most {
            batch = Array(writeBuffer.prefix(most))
            writeBuffer.removeFirst(most)
        } else {
            batch = writeBuffer
            // A burst's worth of capacity is let go; a few slots are kept for the next packets.
            writeBuffer.removeAll(keepingCapacity: writeBuffer.capacity <= Self.maxPacketsPerPoll)
        }
        var bytes = 0
        for packet in batch { bytes &+= Self.outboundSize(packet) }
        writeBudget.drain(bytes)
        transport.send(batch)
        if writeBuffer.isEmpty { perform(lifecycle.handle(.queueDrained)) }
    }

    // MARK: Receiving

    /// A transport decoded a packet from the client.
    public func receive(_ packet: EnginePacket, from source: any Transport) {
        let from = self.source(of: source)
        if packet.type != .message, from == .current, !admitControlPacket() { return }
        let isProbe = from == .probe && packet.type == .ping && packet.payload == EnginePacket.probe
        let action = lifecycle.handle(.packet(packet.type, from: from, isProbe: isProbe))
        switch action {
        case .deliverMessage:
            traffic.received(bytes: packet.payload.count)
            server.delegate?.engineSession(self, didReceive: packet)
        case .pong:
            if heartbeat.pongReceived(now: server.now, pingHasLeft: pingHasLeft) { server.schedule(self) }
        case .answerPing:
            // v3: the pong echoes the ping's payload, as the reference servers do.
            send(EnginePacket(.pong, packet.payload))
            if heartbeat.clientPingReceived(now: server.now) { server.schedule(self) }
        case .rejectPacket:
            log.limited(.warn, cause: "unexpected-packet", source: peer, "unexpected packet sid=\(id) peer=\(peer) type=\(packet.type)")
            close(reason: .parseError)
        case .abandonProbe:
            log.limited(.warn, cause: "bad-upgrade-packet", source: peer, "bad upgrade packet sid=\(id) peer=\(peer) type=\(packet.type); probe abandoned")
            perform(action)
        default:
            perform(action)
        }
    }

    /// A transport received a text message packet and hands over its payload in place (valid for the call).
    /// The same as ``receive(_:from:)`` with a message packet, without the copy into one.
    public func receiveMessage(text: UnsafeRawBufferPointer, from source: any Transport) {
        // The reply path: a direct check for the common case (a message on the current transport of a
        // session not closed), which is what the lifecycle answers ``SessionLifecycle/Action/deliverMessage``
        // to; anything else goes through ``receive(_:from:)``.
        guard source === transport, lifecycle.state != .closed else {
            if self.source(of: source) == .probe { receive(.message(Array(text)), from: source) }
            return
        }
        traffic.received(bytes: text.count)
        server.delegate?.engineSession(self, didReceiveText: text)
    }

    // MARK: Upgrade

    /// Starts probing `candidate` as the session's new transport. False if the session cannot upgrade now.
    func beginUpgrade(to candidate: any Transport) -> Bool {
        let listed = server.upgrades(from: transport.name).contains(candidate.name)
        guard lifecycle.handle(.upgradeRequested(listed: listed)) == .startProbe else { return false }
        probingTransport = candidate
        candidate.session = self
        return true
    }

    /// Milliseconds between completing an upgrade and refusing a GET the client left on the old transport.
    static let refusalDelayAfterUpgrade: Int64 = 2

    /// Answers the GET held during an upgrade with a noop, if the upgrade is still under way.
    ///
    /// The debt is not cleared: every GET that arrives until the upgrade completes gets a noop. The
    /// client may have received the first noop before `3probe` and polled again; holding that GET would
    /// leave both sides waiting (the client pauses polling only once the probe answer is in).
    private func releasePollWithNoop() {
        noopTimer = nil
        guard lifecycle.owesNoop, transport.isWritable, writeBuffer.isEmpty else { return }
        transport.send([EnginePacket(.noop)])
    }

    private func completeUpgrade() {
        guard let newTransport = probingTransport else { return }
        let old = transport
        probingTransport = nil
        noopTimer?.cancel()
        noopTimer = nil
        transport = newTransport
        server.counters.upgraded(from: old.name, to: newTransport.name)
        old.session = nil
        if old.lingersAfterUpgrade {
            // A GET still held on a poll was sent without waiting for its noop; it is refused, but only once
            // the new transport's queued frames (the probe's answer) have had a loop turn to leave, so the
            // client learns of the upgrade before the refusal, as it would have with its noop.
            server.schedule(after: Self.refusalDelayAfterUpgrade) { old.closeAfterUpgrade() }
        } else {
            old.closeAfterUpgrade()
        }
        log.info("upgrade sid=\(id) peer=\(peer) transport=\(newTransport.name)")
        flush()
        server.delegate?.engineSessionDidUpgrade(self)
    }

    /// Lets go of the probe; `close` also closes it (we abandon it, rather than it having ended).
    private func dropProbe(close: Bool) {
        guard let probing = probingTransport else { return }
        probingTransport = nil
        noopTimer?.cancel()
        noopTimer = nil
        probing.session = nil
        if close { probing.close() }
    }

    // MARK: Closing

    /// A transport ended on its own (socket closed, request aborted, bad input).
    public func transportClosed(_ closed: any Transport, reason: DisconnectReason) {
        perform(lifecycle.handle(.transportEnded(from: source(of: closed), reason: reason)))
    }

    /// Ends the session from the server side. Queued packets still go out first where the transport allows;
    /// a polling client that still has packets to collect gets them at its next GET, or the session ends
    /// at the close deadline if it never comes.
    public func close(reason: DisconnectReason = .forcedClose) {
        let packetsWaitForClient = !writeBuffer.isEmpty && !transport.isWritable
        perform(lifecycle.handle(.closeRequested(reason, packetsWaitForClient: packetsWaitForClient)))
    }

    /// Does what the lifecycle decided (the actions ``receive(_:from:)`` and ``beginUpgrade(to:)`` handle
    /// themselves change nothing here).
    private func perform(_ action: SessionLifecycle.Action) {
        switch action {
        case .none, .deliverMessage, .pong, .answerPing, .rejectPacket, .startProbe, .refuseUpgrade, .runHeartbeat, .moveOut, .refuseMove:
            break
        case .beginClose(let reason):
            close(reason: reason)
        case .answerProbe:
            probingTransport?.send([EnginePacket(.pong, EnginePacket.probe)])
            // Release the client's pending poll so it can pause polling and send the upgrade packet.
            flush()
        case .completeUpgrade:
            completeUpgrade()
        case .abandonProbe:
            dropProbe(close: true)
        case .forgetProbe:
            dropProbe(close: false)
        case .waitForCollection(let abandonProbe):
            if abandonProbe { dropProbe(close: true) }
            closeDeadline = server.now + server.configuration.pingTimeout
            server.schedule(self)
        case .finish(let finish):
            if finish.abandonProbe { dropProbe(close: true) }
            if finish.flush { flush() }
            finishClose(reason: finish.reason, closeTransport: finish.closeTransport)
        }
    }

    /// The session has ended (the lifecycle is closed): its queue goes, its transport is closed unless it
    /// ended by itself, the server is told, and the transports let go of it.
    private func finishClose(reason: DisconnectReason, closeTransport: Bool) {
        writeBuffer.removeAll()
        writeBudget.dropAll()
        if closeTransport {
            transport.close(reason: reason)
        }
        server.sessionClosed(self, reason: reason)
        // Transports hold their session strongly: let go of them both ways.
        transport.session = nil
        probingTransport?.session = nil
        probingTransport = nil
    }

    // MARK: Moving between nodes

    /// Lets go of the session for another node (``EngineServer/receive(_:)``): the GET held here, if any, is
    /// released with a noop (the client polls again, and its next request finds the session on its new node),
    /// the transport ends without telling the client anything, and what was queued for the client goes with
    /// the session. Nil when the session cannot move now (it is upgrading or closing); then nothing changed.
    func moveOut() -> [EnginePacket]? {
        // A session moved carries no protocol version: a v3 one stays, its requests passed on to it.
        guard protocolVersion == .v4, lifecycle.handle(.moveRequested) == .moveOut else { return nil }
        noopTimer?.cancel()
        noopTimer = nil
        if transport.isWritable { transport.send([EnginePacket(.noop)]) }
        let queued = writeBuffer
        writeBuffer.removeAll()
        writeBudget.dropAll()
        transport.close()
        transport.session = nil
        return queued
    }

    /// Queues packets that were waiting for the client on the node the session came from, oldest first.
    func restoreQueue(_ packets: [EnginePacket]) {
        for packet in packets {
            guard enqueue(packet) else { return }
        }
    }

    // MARK: Heartbeat

    /// Sends a ping and notes where it stands in the outbound stream, so its pong can be judged.
    private func sendPing() {
        guard lifecycle.isSending else { return }
        let ping = EnginePacket(.ping)
        if writeBuffer.isEmpty, transport.isWritable {
            transport.send(ping)
            pingMark = (false, transport.outbound.end, ObjectIdentifier(transport))
        } else if enqueue(ping) {
            pingMark = (true, writeBudget.end, ObjectIdentifier(transport))
            flush()
        }
    }

    /// Whether the last ping has left the queue it was put in (if the transport has changed since, it has:
    /// its queue was handed on or dropped).
    private var pingHasLeft: Bool {
        guard let mark = pingMark else { return true }
        if mark.inSession { return writeBudget.hasSent(through: mark.end) }
        guard mark.transport == ObjectIdentifier(transport) else { return true }
        return transport.outbound.hasSent(through: mark.end)
    }

    /// The heartbeat deadline may have come; called by the server's timer.
    func heartbeatDeadline(now: Int64) {
        let action = lifecycle.handle(.deadline(closeDeadlinePassed: closeDeadline.map { now >= $0 } ?? false))
        guard action == .runHeartbeat else {
            perform(action)
            return
        }
        switch heartbeat.deadlineReached(now: now) {
        case .none:
            break
        case .sendPing:
            sendPing()
            if state != .closed { server.schedule(self) }
        case .timeOut:
            close(reason: .pingTimeout)
        }
    }
}
