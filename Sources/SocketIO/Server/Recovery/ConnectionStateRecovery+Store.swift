import EngineIO

/// Connection state recovery across nodes, through a ``RecoveryStore`` (the message queue's Redis):
///
/// - A socket that drops is written to the store (its handle, sid, rooms, data, and the packets of this node's log
///   that reached it recently, with the log's sequence range) and joins ``away``: every emit that reaches it
///   from then on is appended to the store, until a client takes it or the window passes.
/// - A CONNECT with a pid takes the session out of the store (atomically, so once) and completes when the
///   answer comes back to the service thread (SocketIOServer+Restore.swift). When another node records for
///   it, the take has two phases around a marker on the channel (``takingSeen(handle:namespace:taker:recorder:)``):
///   the recorder appends what came before it and flushes, this node collects what comes after it.
/// - A node that stops hands its away sessions over; one surviving node claims each and records for it.
/// The store and the channel know a session by its ``RecoveryHandle`` (computed here once per drop and once per
/// CONNECT), never by its pid. No Redis work happens for a reply to a connected socket: only drops, CONNECTs with a pid, and emits that
/// reach an away session cost a store command.
extension ConnectionStateRecovery {
    /// How far back the record of a dropped session looks in the log for what it may not have received.
    static let snapshotScanLimit = 4096

    func keep(_ socket: Socket, in store: any RecoveryStore) {
        guard let pid = socket.pid else { return }
        let handle = RecoveryHandle(pid: pid)
        let now = engine.now
        away.removeExpired(now: now)
        let rooms = Array(socket.namespace.rooms.rooms(of: socket.id))
        let address = AddressLimits.group(socket.peer)
        switch away.keep(AwaySessions.Entry(handle: handle, sid: socket.id, rooms: rooms, adoptedFrom: nil, expiresAt: now + window, address: address)) {
        case nil:
            break
        case .total:
            // One line for the first session refused at the bound, then one per thousand.
            awayRefused &+= 1
            if awayRefused == 1 || awayRefused % 1000 == 0 {
                engine.log.warn("recovery: \(away.limit) dropped sessions recorded in namespace \(LogSafe.text(socket.namespace.name)); sid=\(socket.id) not kept, its client will get a new session (\(awayRefused) so far)")
            }
            return
        case .address:
            // A client causes this (one address churning join-and-drop sessions): throttled, per address.
            engine.log.limited(.warn, cause: "recovery-address-bound", source: address, "recovery: \(away.perAddressLimit) dropped sessions recorded for address \(LogSafe.text(address)) in namespace \(LogSafe.text(socket.namespace.name)); sid=\(socket.id) not kept, its client will get a new session; other addresses' are untouched")
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
        _ = away.account(bytes, for: handle)
        let session = StoredSession(
            namespace: socket.namespace.name, handle: handle, sid: socket.id, rooms: rooms, data: socket.namespace.encodeData?(socket.data),
            owner: store.hostID, floor: floor, next: log.nextSequence, packets: packets)
        store.keep(session, window: window)
    }

    /// An emit to `rooms` (nil: everyone) skipping `skip`: appended for every away session it reaches, and
    /// collected for any restore still waiting for the store that it reaches.
    func recordAway(_ event: String, _ arguments: [JSONValue], rooms: [String]?, skip: [String]) {
        guard let store, !(away.isEmpty && pendingRestores.isEmpty) else { return }
        var encoded: [UInt8]?
        for pending in pendingRestores where pending.collecting {
            pending.offer(event, arguments, rooms: rooms, skip: skip, byteLimit: away.byteLimit)
        }
        away.removeExpired(now: engine.now)
        for handle in away.reached(rooms: rooms, skip: skip) {
            guard let entry = away.entry(handle) else { continue }
            let packet = encoded ?? StoredPacket.encode(event: event, arguments: arguments)
            encoded = packet
            guard away.account(packet.count, for: handle) else {
                away.remove(handle)
                store.forget(handle: handle)
                engine.log.info("recovery: sid=\(LogSafe.text(entry.sid)) missed more than \(away.byteLimit) bytes while away; it will get a new session")
                continue
            }
            if !store.append(handle: handle, packet: packet, adoptedFrom: entry.adoptedFrom) { away.remove(handle) }
        }
    }

    /// A CONNECT asks for `pid`: this node stops recording for it (the take covers what was appended so far)
    /// and, when it was recording for it, collects what reaches it from now until the answer.
    func beginRestore(pid: String) -> PendingRestore {
        let handle = RecoveryHandle(pid: pid)
        let pending = PendingRestore(pid: pid, handle: handle, local: away.remove(handle))
        pendingRestores.append(pending)
        return pending
    }

    func endRestore(_ pending: PendingRestore) {
        pendingRestores.removeAll { $0 === pending }
    }

    /// Another node restored `handle`: stop recording for it.
    func recoveredElsewhere(handle: RecoveryHandle) {
        away.remove(handle)
    }

    /// A take's marker came on the channel, in its place among the emits. Every emit before it that reached
    /// the session is the recorder's to append; every emit after it is the taker's to deliver. So the
    /// recorder stops recording here and publishes its flush behind its appends, and the taker starts
    /// collecting here.
    func takingSeen(handle: RecoveryHandle, namespace: String, taker: String, recorder: String) {
        guard let store else { return }
        if taker == store.hostID {
            for pending in pendingRestores where pending.handle == handle && !pending.finished { pending.startCollecting() }
        }
        if StoreTake.recordingHost(recorder) == store.hostID {
            away.remove(handle)
            store.flushed(handle: handle, namespace: namespace, taker: taker)
            engine.log.debug("recovery: node \(LogSafe.text(taker)) takes a session this node recorded for; flushing")
        }
    }

    /// The channel subscription was lost and is back: what was published meanwhile never reached this node.
    func channelInterrupted(namespace: String) {
        for pending in pendingRestores where !pending.finished { pending.interrupt() }
        guard let store, !away.isEmpty else { return }
        let entries = away.all
        for entry in entries {
            away.remove(entry.handle)
            store.forget(handle: entry.handle)
        }
        engine.log.warn("recovery: the message queue's subscription was interrupted; \(entries.count) dropped sessions of namespace \(LogSafe.text(namespace)) this node recorded for may have missed emits and are made unrecoverable")
    }

    /// The node `host` that recorded for `handle` flushed for this node's take.
    func flushSeen(handle: RecoveryHandle, host: String) {
        for pending in pendingRestores where pending.handle == handle && !pending.finished { pending.flushed(by: host) }
    }

    /// This node stops: hand every session it records for over to the others (after the sockets closed, so
    /// those just dropped are among them).
    func handOver(namespace: String) {
        guard let store, !away.isEmpty else { return }
        // Sessions this node adopted are not handed on: a second adopter's list would follow the first's in
        // Redis, and this node's last appends could land after the second's first. They become unrecoverable.
        let adopted = away.all.filter { $0.adoptedFrom != nil }
        for entry in adopted {
            away.remove(entry.handle)
            store.forget(handle: entry.handle)
        }
        if !adopted.isEmpty {
            engine.log.info("recovery: \(adopted.count) dropped sessions this node had adopted are not handed on; their clients will get new sessions")
        }
        guard !away.isEmpty else { return }
        let sessions = away.all.map { HandedOverSession(handle: $0.handle, sid: $0.sid, rooms: $0.rooms) }
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
            for entry in away.all { away.remove(entry.handle) }
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
            if away.add(AwaySessions.Entry(handle: session.handle, sid: session.sid, rooms: session.rooms, adoptedFrom: host, expiresAt: now + window)) {
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
///
/// Collects the emits that reach the session while it waits: from the start when this node recorded for it
/// (the take covers every append made before), otherwise from the take's marker on the channel (the
/// recorder appends what came before it). Until the take's first phase says which rooms the session is in,
/// every emit of the namespace is kept, at most ``unfilteredByteLimit`` bytes; what reaches the session is
/// kept up to the per-session bound. Past either bound the restore is refused (a new session, never a hole).
final class PendingRestore {
    /// The most bytes of emits kept before the session's rooms are known (normally a few milliseconds).
    static let unfilteredByteLimit = 1 << 20
    /// Counted per emit kept before the rooms are known, beside its encoded bytes.
    static let unfilteredEntryOverhead = 64

    /// The pid the client presented (it keeps it when restored).
    let pid: String
    /// Its handle, which the channel's taking and flushed messages name.
    let handle: RecoveryHandle
    /// The away entry when this node recorded for the session.
    let local: AwaySessions.Entry?
    /// The sid and named rooms of the session, once known.
    private(set) var target: (sid: String, rooms: [String])?
    /// Whether emits that reach it are collected now.
    private(set) var collecting: Bool
    /// Emits collected before the target was known, each with its targets and encoded bytes.
    private var unfiltered: [(packet: JSONValue, rooms: [String]?, skip: [String])] = []
    private var unfilteredBytes = 0
    private(set) var buffered: [JSONValue] = []
    private var bytes = 0
    /// More reached it meanwhile than a bound: the restore is refused.
    private(set) var overflowed = false
    /// This node may have missed emits that reach it (its channel subscription was interrupted, or the
    /// recorder's flush came without this node having seen the take's marker): the restore is refused.
    private(set) var interrupted = false
    /// The take's marker came on the channel.
    private var markerSeen = false
    /// The node whose flush the take waits for, once the first phase answered that another node records.
    private(set) var awaitedRecorder: String?
    /// Set with ``awaitedRecorder``: finishes the take when that node's flush arrives.
    private var onFlushed: (() -> Void)?
    /// Flushes that arrived before the first phase's answer (at most a few: only recorders flush).
    private var flushedBy: Set<String> = []
    var finished = false
    var timer: EngineTimer?

    init(pid: String, handle: RecoveryHandle, local: AwaySessions.Entry?) {
        self.pid = pid
        self.handle = handle
        self.local = local
        collecting = local != nil
        target = local.map { ($0.sid, $0.rooms) }
    }

    /// This node's take marker came on the channel: collect from here. Anything collected before it is the
    /// recorder's to append (this node recorded for it and collected from the start, but the store names
    /// another recorder).
    func startCollecting() {
        collecting = true
        markerSeen = true
        buffered.removeAll()
        bytes = 0
        unfiltered.removeAll()
        unfilteredBytes = 0
    }

    /// The first phase answered: the session's sid and rooms are `target`, and `host` records for it;
    /// `finishTake` runs when its flush comes (now, if it came already).
    func awaitFlush(from host: String, target: (sid: String, rooms: [String]), byteLimit: Int, finishTake: @escaping () -> Void) {
        awaitedRecorder = host
        self.target = target
        let early = unfiltered
        unfiltered = []
        unfilteredBytes = 0
        for emit in early where reaches(rooms: emit.rooms, skip: emit.skip) { buffer(emit.packet, byteLimit: byteLimit) }
        if flushedBy.contains(host) {
            if !markerSeen { interrupted = true }
            finishTake()
        } else {
            onFlushed = finishTake
        }
    }

    func flushed(by host: String) {
        guard let awaitedRecorder else {
            if flushedBy.count < 8 { flushedBy.insert(host) }
            return
        }
        guard host == awaitedRecorder, let finish = onFlushed else { return }
        onFlushed = nil
        // The flush follows the marker on the channel: without the marker, emits after it were missed here.
        if !markerSeen { interrupted = true }
        finish()
    }

    func interrupt() { interrupted = true }

    /// The restore ended (its answer, its deadline, or a refusal): let go of what it would still call. The flush
    /// callback holds the restore's completion, which holds this object and the server; kept past the end, they
    /// would keep each other alive.
    func end() {
        finished = true
        timer?.cancel()
        timer = nil
        onFlushed = nil
    }

    func offer(_ event: String, _ arguments: [JSONValue], rooms: [String]?, skip: [String], byteLimit: Int) {
        guard collecting, !overflowed else { return }
        guard target != nil else {
            let packet = StoredPacket.value(event: event, arguments: arguments)
            unfilteredBytes += JSONWriter.encode(packet).count + Self.unfilteredEntryOverhead
            unfiltered.append((packet, rooms, skip))
            if unfilteredBytes > Self.unfilteredByteLimit {
                overflowed = true
                unfiltered = []
            }
            return
        }
        if reaches(rooms: rooms, skip: skip) { buffer(StoredPacket.value(event: event, arguments: arguments), byteLimit: byteLimit) }
    }

    private func reaches(rooms: [String]?, skip: [String]) -> Bool {
        guard let target else { return false }
        let own = [target.sid] + target.rooms
        if skip.contains(where: own.contains) { return false }
        guard let rooms else { return true }
        return rooms.contains(where: own.contains)
    }

    private func buffer(_ packet: JSONValue, byteLimit: Int) {
        guard !overflowed else { return }
        bytes += JSONWriter.encode(packet).count
        buffered.append(packet)
        if bytes > byteLimit { overflowed = true }
    }
}
