/// Sockets that left for a recoverable reason, kept for the recovery window by their private id (`pid`):
/// what a returning client gets back. The app's `data` object is kept as it was, so the app's state for the
/// session continues rather than starting over.
///
/// Bounded two ways: each session expires ``window`` milliseconds after its disconnection (swept by
/// ``removeExpired(now:)`` and refused at restore), and at most ``limit`` are kept; past it the oldest is
/// dropped (its client gets a new session, as after the window). Service thread only.
struct RecoverableSessions {
    struct Session {
        let pid: String
        let sid: String
        /// Named rooms (not the sid room).
        let rooms: [String]
        let data: AnyObject?
        let disconnectedAt: Int64
    }

    let window: Int64
    let limit: Int
    private var byPID: [String: Session] = [:]
    /// Pids in disconnection order, for expiry and the bound.
    private var order = ExpiryOrder()
    /// Sessions dropped at ``limit`` since the start.
    private(set) var droppedAtLimit: UInt64 = 0

    init(window: Int64, limit: Int) {
        self.window = window
        self.limit = max(limit, 1)
    }

    var count: Int { byPID.count }
    /// Entries in the disconnection order, restored ones included (what the order's compaction bounds).
    var orderEntries: Int { order.count }

    /// When the oldest kept session expires; nil when none is kept.
    var nextExpiry: Int64? { order.firstLive(isLive).map { $0 + window } }

    mutating func keep(_ session: Session) {
        while byPID.count >= limit, order.first != nil {
            if removeFront() { droppedAtLimit &+= 1 }
        }
        byPID[session.pid] = session
        order.append(session.pid, session.disconnectedAt)
        order.compact(liveCount: byPID.count, isLive: isLive)
    }

    /// The session `pid` if it is kept and its window has not passed; it is taken out either way, so a
    /// session is recovered at most once.
    mutating func take(_ pid: String, now: Int64) -> RecoveredSession {
        guard let session = byPID.removeValue(forKey: pid) else { return .unknown }
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
        guard isLive(pid, at) else { return false }
        byPID.removeValue(forKey: pid)
        return true
    }
}

/// The answer of ``RecoverableSessions/take(_:now:)``.
enum RecoveredSession {
    case found(RecoverableSessions.Session)
    case unknown
    case expired
}
