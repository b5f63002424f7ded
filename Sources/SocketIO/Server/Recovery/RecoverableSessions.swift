/// Sockets that left for a recoverable reason, kept for the recovery window by their private id (`pid`):
/// what a returning client gets back. The app's `data` object is kept as it was, so the app's state for the
/// session continues rather than starting over.
///
/// Bounded three ways: each session expires ``window`` milliseconds after its disconnection (swept by
/// ``removeExpired(now:)`` and refused at restore); at most ``perAddressLimit`` are kept for one client
/// address (grouped as the per-address limits group it: ``AddressLimits/group(_:)``), past which that
/// address's own oldest goes; and at most ``limit`` in all, past which the oldest of all goes (its client
/// gets a new session, as after the window). The per-address bound comes first, so one address churning
/// join-and-drop sessions replaces its own kept sessions and cannot push out other addresses'. Service
/// thread only.
struct RecoverableSessions {
    struct Session {
        let pid: String
        let sid: String
        /// Named rooms (not the sid room).
        let rooms: [String]
        let data: AnyObject?
        let disconnectedAt: Int64
        /// The client's address group (``AddressLimits/group(_:)`` of its peer).
        var address: String = ""
    }

    let window: Int64
    let limit: Int
    /// The most kept for one address group.
    let perAddressLimit: Int
    private var byPID: [String: Session] = [:]
    /// Pids in disconnection order, for expiry and the bound.
    private var order = ExpiryOrder()
    /// Per address group: its pids in disconnection order (entries of sessions gone since are skipped and
    /// compacted away, as in ``order``), and how many of them are kept now.
    private var byAddress: [String: (order: [(pid: String, at: Int64)], head: Int, live: Int)] = [:]
    /// Sessions dropped at ``limit`` since the start.
    private(set) var droppedAtLimit: UInt64 = 0
    /// Sessions dropped at ``perAddressLimit`` (their own address's oldest) since the start.
    private(set) var droppedAtAddressLimit: UInt64 = 0

    init(window: Int64, limit: Int, perAddressLimit: Int = .max) {
        self.window = window
        self.limit = max(limit, 1)
        self.perAddressLimit = max(perAddressLimit, 1)
    }

    var count: Int { byPID.count }
    /// Entries in the disconnection order, restored ones included (what the order's compaction bounds).
    var orderEntries: Int { order.count }

    /// When the oldest kept session expires; nil when none is kept.
    var nextExpiry: Int64? { order.firstLive(isLive).map { $0 + window } }

    mutating func keep(_ session: Session) {
        if let replaced = byPID.removeValue(forKey: session.pid) { forget(replaced) }
        while (byAddress[session.address]?.live ?? 0) >= perAddressLimit {
            if removeOldest(of: session.address) { droppedAtAddressLimit &+= 1 }
        }
        while byPID.count >= limit, order.first != nil {
            if removeFront() { droppedAtLimit &+= 1 }
        }
        byPID[session.pid] = session
        order.append(session.pid, session.disconnectedAt)
        order.compact(liveCount: byPID.count, isLive: isLive)
        var group = byAddress[session.address] ?? ([], 0, 0)
        group.order.append((session.pid, session.disconnectedAt))
        group.live += 1
        byAddress[session.address] = group
    }

    /// How many are kept for the address group `address`.
    func keptCount(address: String) -> Int { byAddress[address]?.live ?? 0 }

    /// `session` is no longer kept: its address group counts one fewer (and goes when it counts none).
    private mutating func forget(_ session: Session) {
        guard var group = byAddress.removeValue(forKey: session.address) else { return }
        group.live -= 1
        guard group.live > 0 else { return }
        // Entries of sessions gone pile up among the live ones and before ``head``; compacted when they
        // outnumber them.
        if group.order.count > 2 * group.live + 16 {
            group.order = group.order[group.head...].filter { isLive($0.pid, $0.at) }
            group.head = 0
        }
        byAddress[session.address] = group
    }

    /// Takes out the oldest entry of `address`'s order, and its session if that entry is still the live one.
    private mutating func removeOldest(of address: String) -> Bool {
        guard var group = byAddress[address], group.head < group.order.count else { return false }
        let (pid, at) = group.order[group.head]
        group.head += 1
        byAddress[address] = group
        guard isLive(pid, at), let session = byPID.removeValue(forKey: pid) else { return false }
        forget(session)
        return true
    }

    /// The session `pid` if it is kept and its window has not passed; it is taken out either way, so a
    /// session is recovered at most once.
    mutating func take(_ pid: String, now: Int64) -> RecoveredSession {
        guard let session = byPID.removeValue(forKey: pid) else { return .unknown }
        forget(session)
        guard now - session.disconnectedAt <= window else { return .expired }
        return .found(session)
    }

    /// Drops every session whose window has passed.
    mutating func removeExpired(now: Int64) {
        while let (_, at) = order.first, now - at > window { removeFront() }
        order.compact(liveCount: byPID.count, isLive: isLive)
    }

    /// Whether the order's entry (`pid`, `at`) is of the session kept now (not one restored, or replaced).
    private func isLive(_ pid: String, _ at: Int64) -> Bool { byPID[pid]?.disconnectedAt == at }

    /// Takes the front of the order out, and its session if that entry is still the live one; returns whether
    /// a session went.
    @discardableResult
    private mutating func removeFront() -> Bool {
        let (pid, at) = order.removeFirst()
        guard isLive(pid, at), let session = byPID.removeValue(forKey: pid) else { return false }
        forget(session)
        return true
    }
}

/// The answer of ``RecoverableSessions/take(_:now:)``.
enum RecoveredSession {
    case found(RecoverableSessions.Session)
    case unknown
    case expired
}
