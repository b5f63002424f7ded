import EngineIO
import SocketIO

/// Who may open the admin namespace, as the Admin UI logs in: `{username, password}` checked against the
/// bcrypt hash, or `{sessionId}` from an earlier password login on this node (the `session` event the UI
/// keeps in its local storage, so a reload does not ask again).
///
/// A bcrypt check runs on the service thread and costs it milliseconds (cost 10: ~55 ms, cost 12: ~210 ms
/// here), so checks are budgeted: each address may try ``perAddressBurst`` passwords, then one a second;
/// and the whole node may spend ``hashingPerSecond`` ms a second on hashing (``hashingBurst`` at once),
/// charged by the time each check took, so a costlier hash means fewer checks, never more of the thread.
/// Past a budget the CONNECT is refused at once without hashing. Session ids are kept in a bounded list
/// (the oldest forgotten first). Service thread only.
struct AdminLogin {
    /// What the UI is sent on a wrong user or password: the text it recognises to show its login form.
    static let invalidCredentials = "invalid credentials"
    /// What it is sent when the budget is spent.
    static let tooManyAttempts = "too many login attempts, try again later"
    static let perAddressBurst = 5
    static let perAddressPerSecond = 1
    /// Milliseconds of hashing the node may spend per second (a tenth of the service thread), and at once.
    static let hashingPerSecond: Int64 = 100
    static let hashingBurst: Int64 = 500
    static let maxAddresses = 1024
    static let maxSessions = 256

    let authentication: AdminConfiguration.Authentication
    let verify: (_ password: String, _ hash: String) -> Bool
    private var addresses: [String: TokenBucket] = [:]
    /// Milliseconds of hashing left, and when that was last refilled.
    private var hashingLeft = hashingBurst
    private var hashingRefilledAt: Int64
    private var sessions: [String] = []

    init(authentication: AdminConfiguration.Authentication, verify: @escaping (String, String) -> Bool, now: Int64) {
        self.authentication = authentication
        self.verify = verify
        hashingRefilledAt = now
    }

    /// The outcome of one CONNECT's auth.
    enum Outcome: Equatable {
        /// Let in; `newSession` when by password (a session id is then issued).
        case accepted(newSession: Bool)
        /// Refused with the message sent in CONNECT_ERROR and the reason for the log (never the password).
        case refused(message: String, reason: String)
    }

    /// Checks one CONNECT's auth from `peer`; `now` reads the engine's clock (read again after hashing, to
    /// charge the time it took).
    mutating func check(_ auth: JSONValue?, peer: String, now: () -> Int64) -> Outcome {
        guard case .basic(let username, let hash) = authentication else { return .accepted(newSession: false) }
        if let session = auth?["sessionId"]?.stringValue, sessions.contains(session) { return .accepted(newSession: false) }
        guard let given = auth?["username"]?.stringValue, let password = auth?["password"]?.stringValue else {
            return .refused(message: Self.invalidCredentials, reason: "no username and password (or known sessionId) in auth")
        }
        let started = now()
        guard spend(peer, now: started) else { return .refused(message: Self.tooManyAttempts, reason: "login budget spent") }
        // The password is hashed even for a wrong user name, so the answer's time does not tell which was wrong.
        let matches = verify(password, hash)
        hashingLeft -= max(now() - started, 1)
        guard matches, given == username else { return .refused(message: Self.invalidCredentials, reason: "wrong username or password") }
        return .accepted(newSession: true)
    }

    /// A new session id for a password login, remembered for later CONNECTs.
    mutating func issueSession() -> String {
        let id = SessionID.make() + SessionID.make()
        if sessions.count >= Self.maxSessions { sessions.removeFirst() }
        sessions.append(id)
        return id
    }

    private mutating func spend(_ peer: String, now: Int64) -> Bool {
        var bucket = addresses[peer] ?? TokenBucket(perSecond: Self.perAddressPerSecond, burst: Self.perAddressBurst, now: now)
        guard bucket.take(now: now) else {
            addresses[peer] = bucket
            return false
        }
        // Whole milliseconds only, the remainder's time kept for the next refill.
        let gained = (now - hashingRefilledAt) * Self.hashingPerSecond / 1000
        if gained > 0 {
            hashingRefilledAt += gained * 1000 / Self.hashingPerSecond
            hashingLeft += gained
            if hashingLeft >= Self.hashingBurst { (hashingLeft, hashingRefilledAt) = (Self.hashingBurst, now) }
        }
        guard hashingLeft > 0 else {
            bucket.giveBack(now: now)
            addresses[peer] = bucket
            return false
        }
        if addresses[peer] == nil, addresses.count >= Self.maxAddresses {
            // Buckets full again are the same as none; if every one is still draining, all start afresh.
            addresses = addresses.filter { entry in
                var bucket = entry.value
                return !bucket.isFull(now: now)
            }
            if addresses.count >= Self.maxAddresses { addresses.removeAll() }
        }
        addresses[peer] = bucket
        return true
    }
}
