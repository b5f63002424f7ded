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
    /// Pids in disconnection order (times never decrease), for expiry and the bound. Entries whose session was
    /// restored stay until they reach the front; ``compact()`` keeps them from outnumbering the live ones.
    private var order: [(pid: String, disconnectedAt: Int64)] = []
    private var head = 0
    /// Sessions dropped at ``limit`` since the start.
    private(set) var droppedAtLimit: UInt64 = 0

    init(window: Int64, limit: Int) {
        self.window = window
        self.limit = max(limit, 1)
    }

    var count: Int { byPID.count }
    /// Entries in the disconnection order, restored ones included (what ``compact()`` bounds).
    var orderEntries: Int { order.count - head }

    /// When the oldest kept session expires; nil when none is kept.
    var nextExpiry: Int64? {
        var index = head
        while index < order.count {
            let (pid, at) = order[index]
            if byPID[pid]?.disconnectedAt == at { return at + window }
            index += 1
        }
        return nil
    }

    mutating func keep(_ session: Session) {
        while byPID.count >= limit, head < order.count {
            if removeFront() { droppedAtLimit &+= 1 }
        }
        byPID[session.pid] = session
        order.append((session.pid, session.disconnectedAt))
        compact()
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
        while head < order.count, now - order[head].disconnectedAt > window { removeFront() }
        compact()
    }

    /// Takes the front of ``order`` out, and its session if that entry is still the live one; returns whether
    /// a session went.
    @discardableResult
    private mutating func removeFront() -> Bool {
        let (pid, at) = order[head]
        head += 1
        guard byPID[pid]?.disconnectedAt == at else { return false }
        byPID.removeValue(forKey: pid)
        return true
    }

    private mutating func compact() {
        if head == order.count {
            order.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024, head * 2 >= order.count {
            order.removeFirst(head)
            head = 0
        } else if order.count - head > 2 * byPID.count + 1024 {
            // Most entries are of sessions already restored: keep the live ones only.
            order = order[head...].filter { byPID[$0.pid]?.disconnectedAt == $0.disconnectedAt }
            head = 0
        }
    }
}

/// The answer of ``RecoverableSessions/take(_:now:)``.
enum RecoveredSession {
    case found(RecoverableSessions.Session)
    case unknown
    case expired
}
