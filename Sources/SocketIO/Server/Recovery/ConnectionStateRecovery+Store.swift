import EngineIO

/// Connection state recovery across nodes, through a ``RecoveryStore`` (the message queue's Redis):
///
/// - A socket that drops is written to the store (pid, sid, rooms, data, and the packets of this node's log
///   that reached it recently, with the log's sequence range) and joins ``away``: every emit that reaches it
///   from then on is appended to the store, until a client takes it or the window passes.
/// - A CONNECT with a pid takes the session out of the store (atomically, so once) and completes when the
///   answer comes back to the service thread (SocketIOServer+Restore.swift).
/// - A node that stops hands its away sessions over; one surviving node claims each and records for it.
/// No Redis work happens for a reply to a connected socket: only drops, CONNECTs with a pid, and emits that
/// reach an away session cost a store command.
extension ConnectionStateRecovery {
    /// How far back the record of a dropped session looks in the log for what it may not have received.
    static let snapshotScanLimit = 4096

    func keep(_ socket: Socket, in store: any RecoveryStore) {
        guard let pid = socket.pid else { return }
        let now = engine.now
        away.removeExpired(now: now)
        let rooms = Array(socket.namespace.rooms.rooms(of: socket.id))
        guard away.add(AwaySessions.Entry(pid: pid, sid: socket.id, rooms: rooms, adoptedFrom: nil, expiresAt: now + window)) else {
            // One line for the first session refused at the bound, then one per thousand.
            awayRefused &+= 1
            if awayRefused == 1 || awayRefused % 1000 == 0 {
                engine.log.warn("recovery: \(away.limit) dropped sessions recorded in namespace \(LogSafe.text(socket.namespace.name)); sid=\(socket.id) not kept, its client will get a new session (\(awayRefused) so far)")
            }
            return
        }
        var roomSet = Set(rooms)
        roomSet.insert(socket.id)
        let recent = log.recent(reaching: roomSet, scanLimit: Self.snapshotScanLimit, byteLimit: away.byteLimit)
        var floor = recent.floor
        var packets: [(sequence: UInt64, packet: JSONValue)] = []
        var bytes = 0
        for (sequence, packet) in recent.packets {
            guard let value = StoredPacket.value(sent: packet) else {
                // Not readable back (cannot happen for what this server encoded): start after it rather than skip it.
                floor = sequence &+ 1
                packets.removeAll()
                continue
            }
            bytes += packet.byteCount
            packets.append((sequence, value))
        }
        _ = away.account(bytes, for: pid)
        let session = StoredSession(
            namespace: socket.namespace.name, pid: pid, sid: socket.id, rooms: rooms, data: socket.namespace.encodeData?(socket.data),
            owner: store.hostID, floor: floor, next: log.nextSequence, packets: packets)
        store.keep(session, window: window)
    }

    /// An emit to `rooms` (nil: everyone) skipping `skip`: appended for every away session it reaches, and
    /// buffered for any restore of this node's own session still waiting for the store.
    func recordAway(_ event: String, _ arguments: [JSONValue], rooms: [String]?, skip: [String]) {
        guard let store, !(away.isEmpty && pendingRestores.isEmpty) else { return }
        var encoded: [UInt8]?
        for pending in pendingRestores where pending.reaches(rooms: rooms, skip: skip) {
            pending.buffer(StoredPacket.value(event: event, arguments: arguments), byteLimit: away.byteLimit)
        }
        away.removeExpired(now: engine.now)
        for pid in away.reached(rooms: rooms, skip: skip) {
            guard let entry = away.entry(pid) else { continue }
            let packet = encoded ?? StoredPacket.encode(event: event, arguments: arguments)
            encoded = packet
            guard away.account(packet.count, for: pid) else {
                away.remove(pid)
                store.forget(pid: pid)
                engine.log.info("recovery: sid=\(LogSafe.text(entry.sid)) missed more than \(away.byteLimit) bytes while away; it will get a new session")
                continue
            }
            if !store.append(pid: pid, packet: packet, adoptedFrom: entry.adoptedFrom) { away.remove(pid) }
        }
    }

    /// A CONNECT asks for `pid`: this node stops recording for it (the take covers what was appended so far)
    /// and buffers what reaches it until the answer.
    func beginRestore(pid: String) -> PendingRestore {
        let pending = PendingRestore(pid: pid, local: away.remove(pid))
        if pending.local != nil { pendingRestores.append(pending) }
        return pending
    }

    func endRestore(_ pending: PendingRestore) {
        pendingRestores.removeAll { $0 === pending }
    }

    /// Another node restored `pid`: stop recording for it.
    func recoveredElsewhere(pid: String) {
        away.remove(pid)
    }

    /// This node stops: hand every session it records for over to the others (after the sockets closed, so
    /// those just dropped are among them).
    func handOver(namespace: String) {
        guard let store, !away.isEmpty else { return }
        // Sessions this node adopted are not handed on: a second adopter's list would follow the first's in
        // Redis, and this node's last appends could land after the second's first. They become unrecoverable.
        let adopted = away.all.filter { $0.adoptedFrom != nil }
        for entry in adopted {
            away.remove(entry.pid)
            store.forget(pid: entry.pid)
        }
        if !adopted.isEmpty {
            engine.log.info("recovery: \(adopted.count) dropped sessions this node had adopted are not handed on; their clients will get new sessions")
        }
        guard !away.isEmpty else { return }
        let sessions = away.all.map { HandedOverSession(pid: $0.pid, sid: $0.sid, rooms: $0.rooms) }
        // Chunks keep each channel message small; each is one script (claims marked, message published).
        var start = 0
        while start < sessions.count {
            let chunk = Array(sessions[start..<min(start + 500, sessions.count)])
            store.handOver(chunk, namespace: namespace)
            handoversInFlight += 1
            start += chunk.count
        }
        engine.log.info("recovery: handing \(sessions.count) dropped sessions of namespace \(LogSafe.text(namespace)) over to the other nodes")
    }

    /// One of this node's handover messages came back on the channel: every emit published before it has been
    /// recorded here, so from now the adopters record.
    func handoverEchoed() {
        handoversInFlight = max(0, handoversInFlight - 1)
        if handoversInFlight == 0 {
            engine.log.debug("recovery: handover came back on the channel; the adopters record from here")
            for entry in away.all { away.remove(entry.pid) }
        }
    }

    /// A node that stopped handed `sessions` over: record for them (the store's claim decides which node
    /// does; appends of a node that lost the claim are refused by the store).
    func adopt(_ sessions: [HandedOverSession], from host: String) {
        // A node that is stopping itself would take them out of reach again.
        guard let store, !isStopping else { return }
        let now = engine.now
        away.removeExpired(now: now)
        var adopted: [HandedOverSession] = []
        for session in sessions {
            if away.add(AwaySessions.Entry(pid: session.pid, sid: session.sid, rooms: session.rooms, adoptedFrom: host, expiresAt: now + window)) {
                adopted.append(session)
            }
        }
        if adopted.count < sessions.count {
            engine.log.warn("recovery: \(sessions.count - adopted.count) handed-over sessions not adopted (\(away.limit) recorded already)")
        }
        if !adopted.isEmpty { store.adopt(adopted, from: host) }
    }
}

/// A CONNECT with a pid waiting for the store's answer (service thread only).
final class PendingRestore {
    let pid: String
    /// The away entry when this node recorded for the session: what reaches it meanwhile is buffered.
    let local: AwaySessions.Entry?
    private(set) var buffered: [JSONValue] = []
    private var bytes = 0
    /// More reached it meanwhile than the per-session bound: the restore is refused.
    private(set) var overflowed = false
    var finished = false
    var timer: EngineTimer?

    init(pid: String, local: AwaySessions.Entry?) {
        self.pid = pid
        self.local = local
    }

    func reaches(rooms: [String]?, skip: [String]) -> Bool {
        guard let local else { return false }
        let own = [local.sid] + local.rooms
        if skip.contains(where: own.contains) { return false }
        guard let rooms else { return true }
        return rooms.contains(where: own.contains)
    }

    func buffer(_ packet: JSONValue, byteLimit: Int) {
        guard !overflowed else { return }
        bytes += JSONWriter.encode(packet).count
        buffered.append(packet)
        if bytes > byteLimit { overflowed = true }
    }
}
