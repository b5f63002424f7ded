import EngineIO
import SocketIO

/// Who may open the admin namespace, as the Admin UI logs in: `{username, password}` checked against the
/// bcrypt hash, or `{sessionId}` from an earlier password login on this node (the `session` event the UI
/// keeps in its local storage, so a reload does not ask again).
///
/// A bcrypt check costs the service thread milliseconds (cost 10: ~60 ms), so checks are budgeted: each
/// address may try ``perAddressBurst`` passwords, then one a second; the whole node at most
/// ``globalPerSecond`` a second. Past a budget the CONNECT is refused at once without hashing. Session ids
/// are kept in a bounded list (the oldest forgotten first). Service thread only.
struct AdminLogin {
    /// What the UI is sent on a wrong user or password: the text it recognises to show its login form.
    static let invalidCredentials = "invalid credentials"
    /// What it is sent when the budget is spent.
    static let tooManyAttempts = "too many login attempts, try again later"
    static let perAddressBurst = 5
    static let perAddressPerSecond = 1
    static let globalBurst = 10
    static let globalPerSecond = 5
    static let maxAddresses = 1024
    static let maxSessions = 256

    let authentication: AdminConfiguration.Authentication
    let verify: (_ password: String, _ hash: String) -> Bool
    private var addresses: [String: TokenBucket] = [:]
    private var global: TokenBucket
    private var sessions: [String] = []

    init(authentication: AdminConfiguration.Authentication, verify: @escaping (String, String) -> Bool, now: Int64) {
        self.authentication = authentication
        self.verify = verify
        global = TokenBucket(perSecond: Self.globalPerSecond, burst: Self.globalBurst, now: now)
    }

    /// The outcome of one CONNECT's auth.
    enum Outcome: Equatable {
        /// Let in; `newSession` when by password (a session id is then issued).
        case accepted(newSession: Bool)
        /// Refused with the message sent in CONNECT_ERROR and the reason for the log (never the password).
        case refused(message: String, reason: String)
    }

    mutating func check(_ auth: JSONValue?, peer: String, now: Int64) -> Outcome {
        guard case .basic(let username, let hash) = authentication else { return .accepted(newSession: false) }
        if let session = auth?["sessionId"]?.stringValue, sessions.contains(session) { return .accepted(newSession: false) }
        guard let given = auth?["username"]?.stringValue, let password = auth?["password"]?.stringValue else {
            return .refused(message: Self.invalidCredentials, reason: "no username and password (or known sessionId) in auth")
        }
        guard spend(peer, now: now) else { return .refused(message: Self.tooManyAttempts, reason: "login budget spent") }
        // The password is hashed even for a wrong user name, so the answer's time does not tell which was wrong.
        let matches = verify(password, hash)
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
        guard global.take(now: now) else {
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
