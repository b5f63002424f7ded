import EngineIO

/// Connection state recovery for one namespace (Socket.IO 4.6+): the log of packets sent, and the sessions
/// of sockets that dropped, for the window. Exists only when recovery is on; the namespace's emit paths test
/// for it once and otherwise run as before. Service thread only.
///
/// Memory: the log holds at most ``SocketIOConfiguration/recoveryLogBytes`` (shared by every session of the
/// namespace); each dropped socket costs its pid, sid, named rooms and a reference to its data until it
/// comes back or the window passes, at most ``SocketIOConfiguration/maxRecoverableSessions`` of them.
final class ConnectionStateRecovery {
    private(set) var log: MissedPacketLog
    private(set) var sessions: RecoverableSessions
    /// With a recovery store (a message queue): the sessions this node records for while they are away.
    var away: AwaySessions
    /// Where dropped sessions are kept for every node; nil keeps them in this process (the server sets it).
    var store: (any RecoveryStore)?
    /// Restores waiting for the store whose session this node recorded for: what reaches them meanwhile.
    var pendingRestores: [PendingRestore] = []
    /// Handover messages this node published on stopping that it has not yet seen come back on the channel.
    var handoversInFlight = 0
    /// Dropped sessions not kept because ``away`` was at its bound (for the log's one line per thousand).
    var awayRefused: UInt64 = 0
    /// This node is stopping: it adopts no session another node hands over.
    var isStopping = false
    /// Recoveries and refusals so far (kept sessions and bound drops are read at ``snapshot``).
    var counts = RecoveryCounts()
    let window: Int64
    /// The server's wire format: the log keeps packets as sent.
    let parser: SocketIOParser
    unowned let engine: EngineServer
    /// The sweep of expired sessions, armed while any is kept (one timer per namespace at most).
    private var sweep: EngineTimer?

    init(configuration: SocketIOConfiguration, engine: EngineServer) {
        self.engine = engine
        // A random start (below 2^52, so offsets stay exact if a client parses them as numbers): offsets from
        // an earlier run of the process are unknown here instead of naming unrelated packets.
        let start = UInt64.random(in: 1...(1 << 52))
        log = MissedPacketLog(byteLimit: configuration.recoveryLogBytes, firstSequence: start)
        sessions = RecoverableSessions(
            window: configuration.recoveryWindow, limit: configuration.maxRecoverableSessions,
            perAddressLimit: configuration.maxRecoverableSessionsPerAddress)
        away = AwaySessions(
            limit: configuration.maxRecoverableSessions, byteLimit: configuration.recoveryAwayBytes,
            perAddressLimit: configuration.maxRecoverableSessionsPerAddress)
        window = configuration.recoveryWindow
        parser = configuration.parser
    }

    /// Encodes an event with the next offset as its last argument, keeps it in the log for `target`, and
    /// returns it for sending.
    func record(_ event: String, _ arguments: [JSONValue], namespace: String, target: MissedPacketLog.Target) -> EncodedPacket {
        let packet = EncodedPacket(event: event, arguments, namespace: namespace, offset: log.nextOffset, parser: parser)
        log.append(packet, target: target)
        return packet
    }

    /// The counts with what is kept now: sessions in memory and those recorded for in the store.
    var snapshot: RecoveryCounts {
        var now = counts
        now.kept = sessions.count + away.count
        now.droppedAtBound = Int(clamping: sessions.droppedAtLimit &+ awayRefused)
        now.droppedAtAddressBound = Int(clamping: sessions.droppedAtAddressLimit &+ UInt64(away.refusedPerAddress))
        return now
    }

    /// Keeps what a socket that dropped for a recoverable reason needs to come back.
    func keep(_ socket: Socket) {
        if let store {
            keep(socket, in: store)
            return
        }
        let now = engine.now
        sessions.removeExpired(now: now)
        let droppedBefore = sessions.droppedAtLimit
        defer {
            // One line for the first session dropped at the bound, then one per thousand.
            let dropped = sessions.droppedAtLimit
            if dropped > droppedBefore, droppedBefore == 0 || dropped / 1000 > droppedBefore / 1000 {
                engine.log.warn("recovery: \(sessions.limit) dropped sessions kept in namespace \(LogSafe.text(socket.namespace.name)); the oldest went (\(dropped) so far), their clients will get new sessions")
            }
        }
        let address = AddressLimits.group(socket.peer)
        if sessions.keptCount(address: address) >= sessions.perAddressLimit {
            // A client causes this (one address churning join-and-drop sessions): throttled, per address.
            engine.log.limited(.warn, cause: "recovery-address-bound", source: address, "recovery: \(sessions.perAddressLimit) dropped sessions kept for address \(LogSafe.text(address)) in namespace \(LogSafe.text(socket.namespace.name)); that address's oldest went, other addresses' are untouched")
        }
        sessions.keep(
            RecoverableSessions.Session(
                pid: socket.pid ?? "", sid: socket.id, rooms: Array(socket.namespace.rooms.rooms(of: socket.id)), data: socket.data,
                disconnectedAt: now, address: address))
        armSweep()
    }

    /// The session and missed packets for a CONNECT whose auth carried `pid` and `offset`, or why not.
    func restore(pid: String, offset: String) -> Result<(RecoverableSessions.Session, [EncodedPacket]), RecoveryRefusal> {
        let now = engine.now
        switch sessions.take(pid, now: now) {
        case .unknown: return .failure(.unknownSession)
        case .expired: return .failure(.expired)
        case .found(let session):
            var rooms = Set(session.rooms)
            rooms.insert(session.sid)
            switch log.missed(after: offset, rooms: rooms) {
            case .packets(let packets): return .success((session, packets))
            case .offsetDropped: return .failure(.offsetDropped)
            case .offsetUnknown: return .failure(.offsetUnknown)
            }
        }
    }

    private func armSweep() {
        guard sweep == nil, let expiry = sessions.nextExpiry else { return }
        // Captured strongly: a weak reference would give this object a side table, which LeakSanitizer finds
        // pointed to by nothing once the last sweep has fired and reports at exit. The timer lets go of its
        // closure when it fires, and an engine that goes away first lets go of it too.
        sweep = engine.schedule(after: expiry - engine.now + 1) { [self] in
            sweep = nil
            let before = sessions.count
            sessions.removeExpired(now: engine.now)
            if sessions.count < before {
                engine.log.debug("recovery: \(before - sessions.count) dropped sessions expired; \(sessions.count) kept")
            }
            armSweep()
        }
    }
}

/// Why a CONNECT asking for recovery got a new session instead.
enum RecoveryRefusal: String, Error {
    case unknownSession = "unknown pid"
    case expired = "recovery window passed"
    case offsetDropped = "offset older than the oldest packet kept (the log dropped packets it missed)"
    case offsetUnknown = "unknown offset"
}
