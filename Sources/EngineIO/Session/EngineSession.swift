/// One Engine.IO client: its sid, its transport (and the one it may be upgrading to), its outbound
/// queue and its heartbeat. Lives on the service thread only; created and owned by ``EngineServer``.
public final class EngineSession {
    /// Where the session stands.
    public enum State: Sendable, Equatable {
        case open
        /// A second transport is being probed (`2probe` / `3probe` / `5`).
        case upgrading
        /// Closing once the queued packets have reached the client (polling waits for its next GET).
        case closing
        case closed
    }

    /// The Engine.IO sid, as sent in the open packet.
    public let id: String
    /// The client's address, for logs.
    public let peer: String
    /// The transport that carries packets now.
    public private(set) var transport: any Transport
    /// The transport being probed during an upgrade.
    public private(set) var probingTransport: (any Transport)?
    public private(set) var state: State = .open
    /// Packets waiting for the transport to become writable.
    private var writeBuffer: [EnginePacket] = []
    /// Set during an upgrade: the polling side owes the client a noop so its pending GET returns.
    private var owesNoop = false
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

    var log: Logger { server.log }

    init(id: String, peer: String, transport: any Transport, server: EngineServer, now: Int64) {
        self.id = id
        self.peer = peer
        self.transport = transport
        self.server = server
        self.heartbeat = Heartbeat(
            interval: server.configuration.pingInterval, timeout: server.configuration.pingTimeout, now: now)
        transport.session = self
    }

    // MARK: Sending

    /// Queues a packet for the client; it leaves at once if the transport can take it.
    public func send(_ packet: EnginePacket) {
        guard state == .open || state == .upgrading else { return }
        if writeBuffer.isEmpty, transport.isWritable {
            transport.send(packet)
        } else {
            writeBuffer.append(packet)
            flush()
        }
    }

    /// Queues several packets that belong together (a binary event and its attachments).
    public func send(_ packets: [EnginePacket]) {
        guard state == .open || state == .upgrading else { return }
        writeBuffer.append(contentsOf: packets)
        flush()
    }

    /// Hands queued packets to the transport if it can take them. Transports call this when they
    /// become writable (a polling GET arrived).
    public func flush() {
        guard transport.isWritable else { return }
        if writeBuffer.isEmpty {
            if owesNoop, state == .upgrading, noopTimer == nil {
                // The noop waits until the input already received has been handled (a zero-delay timer runs
                // after the current batch of socket events): if the client's upgrade packet is in that batch,
                // the GET learns the session has moved to WebSocket instead of getting a noop that would
                // depend on which socket the server happened to read first. A real client sends the upgrade
                // packet only after this GET has returned, so it never waits longer than one loop turn.
                noopTimer = server.schedule(after: 0) { [weak self] in self?.releasePollWithNoop() }
            }
            return
        }
        let batch = writeBuffer
        writeBuffer.removeAll(keepingCapacity: true)
        transport.send(batch)
        if state == .closing { finishClose(reason: .forcedClose) }
    }

    // MARK: Receiving

    /// A transport decoded a packet from the client.
    public func receive(_ packet: EnginePacket, from source: any Transport) {
        if let probing = probingTransport, source === probing {
            receiveDuringProbe(packet, on: probing)
            return
        }
        guard source === transport, state != .closed else { return }
        switch packet.type {
        case .message:
            server.delegate?.engineSession(self, didReceive: packet)
        case .pong:
            if heartbeat.pongReceived(now: server.now) { server.schedule(self) }
        case .close:
            close(reason: .transportClose)
        case .noop:
            break
        case .open, .ping, .upgrade:
            log.warn("unexpected packet sid=\(id) peer=\(peer) type=\(packet.type)")
            close(reason: .parseError)
        }
    }

    /// A transport received a text message packet and hands over its payload in place (valid for the call).
    /// The same as ``receive(_:from:)`` with a message packet, without the copy into one.
    public func receiveMessage(text: UnsafeRawBufferPointer, from source: any Transport) {
        if let probing = probingTransport, source === probing {
            receiveDuringProbe(.message(Array(text)), on: probing)
            return
        }
        guard source === transport, state != .closed else { return }
        server.delegate?.engineSession(self, didReceiveText: text)
    }

    private func receiveDuringProbe(_ packet: EnginePacket, on probing: any Transport) {
        switch packet.type {
        case .ping where packet.payload == EnginePacket.probe && state == .upgrading:
            probing.send([EnginePacket(.pong, EnginePacket.probe)])
            // Release the client's pending poll so it can pause polling and send the upgrade packet.
            owesNoop = true
            flush()
        case .upgrade where state == .upgrading:
            completeUpgrade(to: probing)
        default:
            log.warn("bad upgrade packet sid=\(id) peer=\(peer) type=\(packet.type); probe abandoned")
            abandonProbe()
        }
    }

    // MARK: Upgrade

    /// Starts probing `candidate` as the session's new transport. False if the session cannot upgrade now.
    func beginUpgrade(to candidate: any Transport) -> Bool {
        guard state == .open, probingTransport == nil, candidate.name != transport.name else { return false }
        probingTransport = candidate
        candidate.session = self
        state = .upgrading
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
        guard owesNoop, state == .upgrading, transport.isWritable, writeBuffer.isEmpty else { return }
        transport.send([EnginePacket(.noop)])
    }

    private func completeUpgrade(to newTransport: any Transport) {
        let old = transport
        probingTransport = nil
        owesNoop = false
        noopTimer?.cancel()
        noopTimer = nil
        transport = newTransport
        state = .open
        old.session = nil
        if let polling = old as? PollingTransport {
            // A GET still held here was sent without waiting for its noop; it is refused, but only once
            // the WebSocket's queued frames (the probe's answer) have had a loop turn to leave, so the
            // client learns of the upgrade before the refusal, as it would have with its noop.
            server.schedule(after: Self.refusalDelayAfterUpgrade) { polling.closeAfterUpgrade() }
        } else {
            old.close()
        }
        log.info("upgrade sid=\(id) peer=\(peer) transport=\(newTransport.name.rawValue)")
        flush()
    }

    private func abandonProbe() {
        guard let probing = probingTransport else { return }
        probingTransport = nil
        owesNoop = false
        noopTimer?.cancel()
        noopTimer = nil
        probing.session = nil
        probing.close()
        if state == .upgrading { state = .open }
    }

    // MARK: Closing

    /// A transport ended on its own (socket closed, request aborted, bad input).
    public func transportClosed(_ closed: any Transport, reason: DisconnectReason) {
        if let probing = probingTransport, closed === probing {
            probingTransport = nil
            probing.session = nil
            owesNoop = false
            if state == .upgrading { state = .open }
            return
        }
        guard closed === transport, state != .closed else { return }
        finishClose(reason: reason, closeTransport: false)
    }

    /// Ends the session from the server side. Queued packets still go out first where the transport allows.
    public func close(reason: DisconnectReason = .forcedClose) {
        switch state {
        case .closed, .closing:
            return
        case .open, .upgrading:
            abandonProbe()
            if !writeBuffer.isEmpty, !transport.isWritable, reason == .forcedClose {
                // A polling client still has packets to collect: close after its next GET, or at the
                // heartbeat deadline if it never comes.
                state = .closing
                closeDeadline = server.now + server.configuration.pingTimeout
                server.schedule(self)
                return
            }
            flush()
            finishClose(reason: reason)
        }
    }

    private func finishClose(reason: DisconnectReason, closeTransport: Bool = true) {
        guard state != .closed else { return }
        state = .closed
        writeBuffer.removeAll()
        if closeTransport {
            transport.close()
        }
        server.sessionClosed(self, reason: reason)
        // Transports hold their session strongly: let go of them both ways.
        transport.session = nil
        probingTransport?.session = nil
        probingTransport = nil
    }

    // MARK: Heartbeat

    /// The heartbeat deadline may have come; called by the server's timer.
    func heartbeatDeadline(now: Int64) {
        if state == .closing {
            if let closeDeadline, now >= closeDeadline { finishClose(reason: .forcedClose) }
            return
        }
        switch heartbeat.deadlineReached(now: now) {
        case .none:
            break
        case .sendPing:
            send(EnginePacket(.ping))
            server.schedule(self)
        case .timeOut:
            close(reason: .pingTimeout)
        }
    }
}
