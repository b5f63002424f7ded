/// Per-address bounds on what one client address may take: sessions open at once, and handshakes per
/// second as a token bucket with a burst. The fairness the per-server bounds (connections, sessions) do not
/// give: without these one script on one address could hold every session slot the server has.
///
/// An address is its ``group(_:)``: an IPv4 address whole, an IPv6 address by its /64, since one host is
/// handed a whole /64 and can pick any address in it. Behind `--trusted-proxies` it is the client the
/// proxy names, since the engine only ever sees ``HTTPRequest/peer``.
///
/// The bookkeeping is itself bounded: a ``RecentTable`` of ``AddressLimitConfiguration/tableSize``
/// addresses, the least recently seen forgotten first. Forgetting an address that still had sessions open
/// or a bucket not yet full lets it start afresh, so those evictions are counted (``evictions``): a steady
/// count says the table is too small for the addresses in play. Service thread only, like the engine.
public struct AddressLimits {
    let configuration: AddressLimitConfiguration
    private var table: RecentTable<Entry>
    /// Handshakes refused, by cause.
    private(set) var refused: [AddressLimitCause: Int] = [:]
    /// Addresses forgotten to make room while they still held sessions or a draining bucket.
    private(set) var evictions = 0

    /// A line about an address that goes on being refused is written at most this often (milliseconds).
    static let episodeLineInterval: Int64 = 60_000
    /// An episode at the bound ends with the first handshake admitted this long after its last refusal
    /// (milliseconds): an address that keeps pressing stays in one episode however many get through.
    static let episodeQuietPeriod: Int64 = 10_000

    private struct Entry {
        /// Sessions open now.
        var sessions = 0
        /// Handshakes this address may still make now, and how they come back.
        var handshakes: TokenBucket
        /// Handshakes refused in the address's episode at its bound, and since the episode's last line.
        var refusedInEpisode = 0
        var refusedSinceLine = 0
        var lastLine = Int64.min
        var lastRefusal = Int64.min
    }

    init(_ configuration: AddressLimitConfiguration) {
        self.configuration = configuration
        table = RecentTable(capacity: configuration.tableSize)
    }

    /// Addresses tracked now.
    var trackedAddresses: Int { table.count }

    /// What a handshake from `peer` gets.
    enum Decision: Equatable {
        /// Go ahead; `endedEpisode`, when this admission ends an episode at the bound (``episodeQuietPeriod``),
        /// is how many handshakes it refused (say so once).
        case admit(endedEpisode: Int?)
        case refuse(AddressRefusal)
    }

    /// Checks a handshake from `peer` at `now` (milliseconds), spending one of its address's tokens when it
    /// has one. The session it opens is counted by ``sessionOpened(peer:now:)``.
    /// - Parameter sessionRetryAfter: seconds to tell a client refused at the session bound to wait.
    mutating func admitHandshake(peer: String, now: Int64, sessionRetryAfter: Int) -> Decision {
        let group = Self.group(peer)
        let limits = configuration
        let (decision, evicted) = table.use(group, default: { Self.fresh(limits, now: now) }) { entry -> Decision in
            let refusal: (AddressLimitCause, Int)
            if !entry.handshakes.take(now: now) {
                let waitMilliseconds = entry.handshakes.millisecondsUntilToken(now: now)
                refusal = (.handshakeRate, Int(max(1, (waitMilliseconds + 999) / 1000)))
            } else {
                guard entry.sessions >= limits.maxSessions else {
                    // Admitted within the quiet period, the address is still pressing on its bound (a script
                    // gets a handshake each time a token comes back): the episode goes on.
                    guard entry.refusedInEpisode > 0, now - entry.lastRefusal >= Self.episodeQuietPeriod else { return .admit(endedEpisode: nil) }
                    defer { entry.refusedInEpisode = 0; entry.refusedSinceLine = 0 }
                    return .admit(endedEpisode: entry.refusedInEpisode)
                }
                refusal = (.sessionsPerAddress, max(1, sessionRetryAfter))
            }
            entry.refusedInEpisode += 1
            entry.refusedSinceLine += 1
            entry.lastRefusal = now
            var count: Int?
            if entry.refusedInEpisode == 1 || now - entry.lastLine >= Self.episodeLineInterval {
                count = entry.refusedSinceLine
                entry.refusedSinceLine = 0
                entry.lastLine = now
            }
            return .refuse(AddressRefusal(cause: refusal.0, group: group, retryAfterSeconds: refusal.1, refusedSinceLastLine: count))
        }
        noteEviction(evicted?.value, now: now)
        if case .refuse(let refusal) = decision { refused[refusal.cause, default: 0] &+= 1 }
        return decision
    }

    /// A session of `peer` opened.
    mutating func sessionOpened(peer: String, now: Int64) {
        let limits = configuration
        let (_, evicted) = table.use(Self.group(peer), default: { Self.fresh(limits, now: now) }) { $0.sessions += 1 }
        noteEviction(evicted?.value, now: now)
    }

    /// A session of `peer` closed. An address forgotten meanwhile is not brought back for it.
    mutating func sessionClosed(peer: String) {
        table.modify(Self.group(peer)) { $0.sessions = max(0, $0.sessions - 1) }
    }

    /// Sessions open now for `peer`'s address, as far as the table still knows (for tests).
    func sessions(of peer: String) -> Int { table.peek(Self.group(peer))?.sessions ?? 0 }

    private static func fresh(_ limits: AddressLimitConfiguration, now: Int64) -> Entry {
        Entry(handshakes: TokenBucket(perSecond: limits.handshakesPerSecond, burst: limits.handshakeBurst, now: now))
    }

    /// Counts an evicted entry that still held something: open sessions, or a bucket not yet full again.
    private mutating func noteEviction(_ entry: Entry?, now: Int64) {
        guard var entry else { return }
        if entry.sessions > 0 || !entry.handshakes.isFull(now: now) { evictions &+= 1 }
    }

    /// The part of a peer address that names one client: an IPv4 address whole, an IPv6 address by its /64
    /// (`2001:db8:1:2::/64`), anything that is not an address (a test's name, `-`) as it is.
    public static func group(_ peer: String) -> String {
        guard let address = IPAddress(peer) else { return peer }
        switch address.family {
        case .v4: return address.description
        case .v6: return "\(address.masked(to: 64))/64"
        }
    }
}

/// Why a handshake was refused at an address's bound.
public enum AddressLimitCause: String, Sendable, CaseIterable {
    case sessionsPerAddress = "sessions_per_address"
    case handshakeRate = "handshake_rate"
}

/// A handshake refused at its address's bound, with what to tell the client and the log.
struct AddressRefusal: Equatable {
    let cause: AddressLimitCause
    /// The address as the limits count it (``AddressLimits/group(_:)``).
    let group: String
    let retryAfterSeconds: Int
    /// When a line is due now: the refusals it reports (this one and those not written since the last line).
    let refusedSinceLastLine: Int?
}

/// The per-address bounds (`--max-sessions-per-address`, `--handshake-rate`, `--handshake-burst`).
public struct AddressLimitConfiguration: Sendable, Equatable {
    /// Sessions one address may hold open at once. Default 5,000: a carrier-grade NAT shares one IPv4
    /// address among tens of subscribers (port blocks of 1,000–2,000 of 64,512 ports) and a campus NAT among a
    /// few thousand people, each with a tab or two open, so neither comes near it; a script alone on one
    /// address stops at 5,000 sessions, some 20 MiB, instead of the millions the server-wide bound allows.
    public var maxSessions: Int
    /// Handshakes one address gets back per second once its burst is spent. Default 100: Socket.IO clients
    /// reconnect with a backoff of a second or more, so even a few thousand behind one NAT average far below it.
    public var handshakesPerSecond: Int
    /// Handshakes one address may make at once before the rate applies. Default 1,000: a NAT full of clients
    /// coming back together after a restart (its first reconnect attempts land within about a second) gets in
    /// within seconds, while a script at tens of thousands of handshakes a second is held to the rate.
    public var handshakeBurst: Int
    /// Addresses tracked at once. Default 65,536: a few MiB at most; the least recently seen goes first.
    public var tableSize: Int

    public static let defaultMaxSessions = 5_000
    public static let defaultHandshakesPerSecond = 100
    public static let defaultHandshakeBurst = 1_000
    public static let defaultTableSize = 65_536

    public init(
        maxSessions: Int = Self.defaultMaxSessions, handshakesPerSecond: Int = Self.defaultHandshakesPerSecond,
        handshakeBurst: Int = Self.defaultHandshakeBurst, tableSize: Int = Self.defaultTableSize
    ) {
        self.maxSessions = max(maxSessions, 1)
        self.handshakesPerSecond = max(handshakesPerSecond, 1)
        self.handshakeBurst = max(handshakeBurst, 1)
        self.tableSize = max(tableSize, 1)
    }
}
