import EngineIO

/// A CONNECT that asks for a session kept in a ``RecoveryStore``: asynchronous, so the service thread never
/// waits for Redis. The take goes to the store's thread; the CONNECT completes when the answer comes back
/// through the service executor, or after ``restoreTimeout`` as an ordinary new session. When another node
/// records for the session, the take waits (within the same deadline) for that node's flush: every emit it
/// appended is in the store then, and this node collected every emit after the take's marker itself.
///
/// Meanwhile: the client's events for that namespace are dropped (it has not joined it yet; socket.io-client
/// sends none before the CONNECT reply, and Node's server drops them the same way), a second CONNECT to it is
/// ignored, and a client that leaves loses the session (it was taken out of the store; logged).
///
/// Each take spends one of its address's ``TakeBudget`` tokens (SocketIOServer.swift decides before this
/// runs); a take that finds a session gives it back. The protocol as a whole: ``CrossNodeRecovery``.
extension SocketIOServer {
    /// How long a CONNECT waits for the store before it becomes a new session, in milliseconds.
    public static let restoreTimeout: Int64 = 3000

    /// A session taken from the store, checked, with what it missed decoded and in order.
    struct SessionFromStore {
        let pid: String
        let sid: String
        let rooms: [String]
        let data: JSONValue?
        let owner: String
        let missed: [(event: String, arguments: [JSONValue])]
    }

    func restore(
        _ client: ClientConnection, to namespace: Namespace, auth: JSONValue?, pid: String, offset: String, recovery: ConnectionStateRecovery,
        store: any RecoveryStore
    ) {
        let name = namespace.name
        client.restoring.append(name)
        let pending = recovery.beginRestore(pid: pid)
        /// Ends the wait once (the answer, or the deadline first); false when it had ended already.
        let settle: () -> Bool = {
            guard !pending.finished else { return false }
            pending.end()
            recovery.endRestore(pending)
            client.restoring.removeAll { $0 == name }
            return true
        }
        let finish: (StoreTakeAnswer) -> Void = { [self] answer in
            guard settle() else {
                if case .found = answer {
                    log.warn("recovery: the store answered after \(Self.restoreTimeout) ms for a CONNECT already served as a new session; that session is lost")
                }
                return
            }
            finishRestore(answer, client: client, namespace: namespace, auth: auth, offset: offset, pending: pending, recovery: recovery, store: store)
        }
        // The first phase: either the whole take, or the session marked as taken while another node records.
        let begun: (StoreTakeAnswer) -> Void = { [self] answer in
            switch answer {
            case .found, .taking: takeBudget.refund(client.session.peer, now: engine.now)  // it found a session
            case .notFound, .unavailable: break
            }
            guard case .taking(let record, let recorder) = answer else { return finish(answer) }
            guard !pending.finished else { return }  // past the deadline: its cancel is queued behind the take
            guard let stored = try? StoredSession.decode(record) else {
                store.cancelTake(handle: pending.handle)
                return finish(.found(StoreTake(record: record, recorder: recorder, ownerPackets: .empty, adoptedPackets: .empty)))
            }
            let host = String(StoreTake.recordingHost(recorder))
            log.info("recovery: waiting for \(LogSafe.text(host)) to flush sid=\(LogSafe.text(stored.sid)) peer=\(client.session.peer)")
            pending.awaitFlush(from: host, target: (stored.sid, stored.rooms), byteLimit: recovery.away.byteLimit) {
                store.finishTake(handle: pending.handle, completion: finish)
            }
        }
        pending.timer = engine.schedule(after: Self.restoreTimeout) { [self] in
            guard let host = pending.awaitedRecorder else { return finish(.unavailable("no answer within \(Self.restoreTimeout) ms")) }
            // The recorder did not flush in time (stopped, frozen, or cut off): what it appended is unknown.
            guard settle() else { return }
            store.cancelTake(handle: pending.handle)
            guard !client.isClosed else { return }
            recovery.counts.refuse(.recorderGone)
            log.info("recovery refused namespace=\(LogSafe.text(namespace.name)) peer=\(client.session.peer): node \(LogSafe.text(host)) recording for it did not flush within \(Self.restoreTimeout) ms; new session")
            completeConnect(client, to: namespace, auth: auth, restored: nil)
        }
        store.take(handle: pending.handle, namespace: name, completion: begun)
    }

    private func finishRestore(
        _ answer: StoreTakeAnswer, client: ClientConnection, namespace: Namespace, auth: JSONValue?, offset: String, pending: PendingRestore,
        recovery: ConnectionStateRecovery, store: any RecoveryStore
    ) {
        let peer = client.session.peer
        if case .unavailable = answer {
            // This node was recording for it and stopped at the take: make sure nobody restores it with a hole.
            // Otherwise a take that may have begun in the store is given up (the recorder stops at its marker).
            if pending.local != nil { store.forget(handle: pending.handle) } else { store.cancelTake(handle: pending.handle) }
        }
        guard !client.isClosed else {
            if case .found = answer { log.info("recovery: the client left while its session was looked up peer=\(peer); that session is lost") }
            return
        }
        switch answer {
        case .unavailable(let reason):
            recovery.counts.refuse(.storeUnavailable)
            log.warn("recovery refused namespace=\(LogSafe.text(namespace.name)) peer=\(peer): store unavailable (\(reason)); new session")
            completeConnect(client, to: namespace, auth: auth, restored: nil)
        case .taking:
            // Only the first phase answers so; the restore waits for the flush instead.
            recovery.counts.refuse(.unreadable)
            log.warn("recovery refused namespace=\(LogSafe.text(namespace.name)) peer=\(peer): unexpected answer from the store; new session")
            completeConnect(client, to: namespace, auth: auth, restored: nil)
        case .notFound:
            recovery.counts.refuse(.unknownSession)
            log.info("recovery refused namespace=\(LogSafe.text(namespace.name)) peer=\(peer): \(RecoveryRefusal.unknownSession.rawValue); new session")
            completeConnect(client, to: namespace, auth: auth, restored: nil)
        case .found(let take):
            switch Self.sessionFromStore(take, pid: pending.pid, offset: offset, namespace: namespace.name, pending: pending) {
            case .failure(let reason):
                recovery.counts.refuse(reason.kind)
                log.info("recovery refused namespace=\(LogSafe.text(namespace.name)) peer=\(peer): \(reason); new session")
                completeConnect(client, to: namespace, auth: auth, restored: nil)
            case .success(let session) where namespace.sockets[session.sid] != nil:
                recovery.counts.refuse(.sidConnected)
                log.info("recovery refused sid=\(LogSafe.text(session.sid)) peer=\(peer): that sid is connected")
                completeConnect(client, to: namespace, auth: auth, restored: nil)
            case .success(let session):
                recovery.counts.restoredFromStore &+= 1
                completeConnect(client, to: namespace, auth: auth, restored: .fromStore(session))
                store.announceRecovered(handle: pending.handle, namespace: namespace.name)
            }
        }
    }

    /// Checks a take against the client's pid (the record holds its handle) and offset and gathers what it
    /// missed: the owner's packets after the offset, then what the owner recorded while it was away, then what
    /// an adopter recorded, then what reached it here during the take. Any doubt refuses (a new session), never
    /// a hole.
    static func sessionFromStore(
        _ take: StoreTake, pid: String, offset: String, namespace: String, pending: PendingRestore
    ) -> Result<SessionFromStore, StoreRefusal> {
        let record: StoredSession
        do { record = try StoredSession.decode(take.record) } catch {
            return .failure(StoreRefusal(.unreadable, "unreadable record in the store (\(error)): \(LogSafe.bytes(take.record, limit: 200))"))
        }
        guard record.handle == pending.handle, record.namespace == namespace else { return .failure(StoreRefusal(.unreadable, "the stored record is of another session")) }
        if take.recorder.hasPrefix(StoreTake.handoverMarker("")) {
            return .failure(StoreRefusal(.recorderGone, "its node stopped and no node took the session over"))
        }
        if !take.recorderAlive { return .failure(StoreRefusal(.recorderGone, "the node recording for it is gone (it stopped without handing it over)")) }
        guard let seen = MissedPacketLog.sequence(from: offset), seen < record.next, seen >= record.floor || seen &+ 1 == record.floor
        else {
            if let seen = MissedPacketLog.sequence(from: offset), seen < record.next {
                return .failure(StoreRefusal(.offset, RecoveryRefusal.offsetDropped.rawValue))
            }
            return .failure(StoreRefusal(.offset, RecoveryRefusal.offsetUnknown.rawValue))
        }
        if pending.overflowed { return .failure(StoreRefusal(.tooMuchMissed, "it missed too much while being restored")) }
        if pending.interrupted {
            return .failure(StoreRefusal(.storeUnavailable, "this node's channel subscription was interrupted while it was restored"))
        }
        var missed: [(event: String, arguments: [JSONValue])] = []
        do {
            for (sequence, packet) in record.packets where sequence > seen { missed.append(try StoredPacket.decode(packet)) }
            for packet in try take.ownerPackets.packets() { missed.append(try StoredPacket.decode(packet)) }
            for packet in try take.adoptedPackets.packets() { missed.append(try StoredPacket.decode(packet)) }
            for packet in pending.buffered { missed.append(try StoredPacket.decode(packet)) }
        } catch {
            return .failure(StoreRefusal(.unreadable, "unreadable missed packet in the store (\(error))"))
        }
        return .success(
            SessionFromStore(pid: pid, sid: record.sid, rooms: record.rooms, data: record.data, owner: record.owner, missed: missed))
    }

    /// Joins the client to `namespace`: a session recovered (same sid, pid, rooms, data, and what it missed
    /// right after the CONNECT reply, before anything newer), or a new one.
    func completeConnect(_ client: ClientConnection, to namespace: Namespace, auth: JSONValue?, restored: RestoredSession?) {
        let socket = Socket(
            id: restored?.sid ?? SessionID.make(), namespace: namespace, auth: auth, client: client, pid: restored?.pid ?? SessionID.make(),
            recovered: restored != nil)
        switch restored {
        case .here(let session, _):
            socket.data = session.data
        case .fromStore(let session):
            socket.data = session.data.flatMap { namespace.decodeData?($0) }
        case nil:
            break
        }
        for room in restored?.rooms ?? [] { namespace.rooms.add(socket.id, to: room) }
        client.add(socket)
        namespace.connects &+= 1
        socket.send(SocketIOPacket(type: .connect, namespace: namespace.name, data: ["sid": .string(socket.id), "pid": .string(socket.pid ?? "")]))
        switch restored {
        case .here(_, let missed):
            // Sent again as they were, with their offsets in this node's log.
            log.info("recovered sid=\(socket.id) missed=\(missed.count) peer=\(client.session.peer)")
            for packet in missed { socket.send(encoded: packet) }
        case .fromStore(let session):
            // Emitted again: each gets an offset of this node's log.
            log.info("recovered sid=\(socket.id) missed=\(session.missed.count) peer=\(client.session.peer) owner=\(LogSafe.text(session.owner))")
            for packet in session.missed { socket.emit(packet.event, packet.arguments) }
        case nil:
            break
        }
        namespace.onConnect?(socket)
        namespace.observer?.socketConnected(socket)
    }

    /// This node stops: every session closes with "server shutting down" (each kept in the store), then the
    /// sessions this node records for are handed over to the others. Call before the server stops serving.
    public func closeAllAndHandOver() {
        for namespace in namespaces.values { namespace.recovery?.isStopping = true }
        engine.closeAll(reason: .serverShutdown)
        for namespace in namespaces.values { namespace.recovery?.handOver(namespace: namespace.name) }
    }

    /// Whether a handover this node published has not come back on the channel yet (the stop waits for it,
    /// within its deadline, so every emit published before it is recorded here).
    public var isHandingOver: Bool { namespaces.values.contains { ($0.recovery?.handoversInFlight ?? 0) > 0 } }

    /// The message queue's subscription was lost and is back: messages published meanwhile never reached this
    /// node. Every dropped session it recorded for may have missed an emit, and so may every restore waiting
    /// for the store: they are refused rather than restored with a hole.
    public func channelInterrupted() {
        for namespace in namespaces.values { namespace.recovery?.channelInterrupted(namespace: namespace.name) }
    }

    /// One of this node's handover messages for `namespace` came back on the channel.
    public func handoverEchoed(namespace name: String) {
        existingNamespace(name)?.recovery?.handoverEchoed()
    }
}

/// A session a CONNECT continues: kept in this process, or taken from the store.
enum RestoredSession {
    case here(RecoverableSessions.Session, missed: [EncodedPacket])
    case fromStore(SocketIOServer.SessionFromStore)

    var sid: String {
        switch self {
        case .here(let session, _): session.sid
        case .fromStore(let session): session.sid
        }
    }

    var pid: String {
        switch self {
        case .here(let session, _): session.pid
        case .fromStore(let session): session.pid
        }
    }

    var rooms: [String] {
        switch self {
        case .here(let session, _): session.rooms
        case .fromStore(let session): session.rooms
        }
    }
}

/// Why a session from the store was not restored (for the log line).
struct StoreRefusal: Error, CustomStringConvertible {
    let kind: RecoveryRefusalKind
    let description: String
    init(_ kind: RecoveryRefusalKind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
