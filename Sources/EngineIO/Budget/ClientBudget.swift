/// One client's budget for one kind of input (events, namespace connects, Engine.IO control packets): a
/// ``TokenBucket``, and what to do when it is spent. A pure state machine over milliseconds: the caller
/// does what ``Decision`` says (drop, tell the client, disconnect it) and the tests drive time by hand.
///
/// Over budget is an episode: it begins with a refusal and lasts while refusals keep coming, with gaps of
/// at most ``ClientBudgetConfiguration/quietGap`` between them. A client still in its episode after
/// ``ClientBudgetConfiguration/disconnectAfter`` is disconnected: it is not a person who typed too fast
/// for a moment but a loop. The client is told of the refusals at most once per ``noticeInterval``.
public struct ClientBudget: Sendable, Equatable {
    private var bucket: TokenBucket
    private let disconnectAfter: Int64
    private let quietGap: Int64
    /// When the current episode over budget began; nil while within the budget.
    private var overSince: Int64?
    private var lastRefusal = Int64.min
    private var lastNotice = Int64.min
    /// Refused since the client was last told.
    private var refusedSinceNotice = 0

    /// The client is told of refusals at most this often (milliseconds).
    public static let noticeInterval: Int64 = 1000

    /// What an input does to the budget.
    public enum Decision: Sendable, Equatable {
        /// Within the budget: handle it.
        case admit
        /// Over the budget: drop it. `notice`, when the client is due to be told now, is how many were
        /// dropped since it was last told (this one included); `startsEpisode` says this is the first refusal
        /// of an episode (a moment for one log line).
        case refuse(notice: Int?, startsEpisode: Bool)
        /// Over the budget for `overFor` milliseconds without a pause: disconnect the client.
        case disconnect(overFor: Int64)
    }

    /// A full budget at `now` (milliseconds).
    public init(_ limit: BudgetLimit, disconnectAfter: Int64, quietGap: Int64 = ClientBudgetConfiguration.quietGap, now: Int64) {
        bucket = TokenBucket(perSecond: limit.perSecond, burst: limit.burst, now: now)
        self.disconnectAfter = max(disconnectAfter, 1)
        self.quietGap = max(quietGap, 1)
    }

    /// Spends one token at `now` for an input, or decides what a refused one does.
    public mutating func spend(now: Int64) -> Decision {
        if bucket.take(now: now) {
            // A client back within its budget after a pause has ended its episode; one admitted amid a
            // stream of refusals (a token that came back) has not.
            if overSince != nil, now - lastRefusal > quietGap { overSince = nil }
            return .admit
        }
        var startsEpisode = false
        if overSince == nil || now - lastRefusal > quietGap {
            overSince = now
            startsEpisode = true
        }
        lastRefusal = now
        refusedSinceNotice += 1
        if let since = overSince, now - since >= disconnectAfter { return .disconnect(overFor: now - since) }
        guard lastNotice == Int64.min || now - lastNotice >= Self.noticeInterval else {
            return .refuse(notice: nil, startsEpisode: startsEpisode)
        }
        lastNotice = now
        defer { refusedSinceNotice = 0 }
        return .refuse(notice: refusedSinceNotice, startsEpisode: startsEpisode)
    }

    /// Whether the client is in an episode over budget at `now`.
    public func isOver(now: Int64) -> Bool {
        guard overSince != nil else { return false }
        return now - lastRefusal <= quietGap
    }
}

/// A rate and a burst, as the flags give them.
public struct BudgetLimit: Sendable, Equatable {
    /// Inputs per second once the burst is spent.
    public var perSecond: Int
    /// Inputs at once before the rate applies.
    public var burst: Int

    public init(perSecond: Int, burst: Int) {
        self.perSecond = max(perSecond, 1)
        self.burst = max(burst, 1)
    }
}

/// What a client input was refused for, as `/metrics` labels it.
public enum BudgetCause: String, Sendable, CaseIterable {
    /// Socket.IO events (EVENT and BINARY_EVENT) on one socket.
    case events
    /// Socket.IO namespace CONNECT packets on one Engine.IO session (a client cycling `40`/`41`).
    case namespaceCycles = "namespace_cycles"
    /// Engine.IO control packets (pong, noop) on one session.
    case pings
}

/// The per-client budgets (`--event-rate`, `--event-burst`, `--namespace-rate`, `--namespace-burst`,
/// `--ping-rate`, `--ping-burst`, `--over-budget-time`).
///
/// The defaults are set by what a person does, with a wide margin. A person typing in the seed's chat sends
/// one `user_message` per line, a few a second at the very fastest, and even an app that emitted an event
/// per keystroke would send about 10 a second; a page coming back after sleep replays what socket.io-client
/// buffered while it was away (its `sendBuffer`) at once, which for a chat is a few lines, and opens a new
/// Engine.IO session, so every budget starts full. So: events 50 a second after a burst of 200 (a replay of
/// 200 lines passes); namespace CONNECTs 5 a second after a burst of 20 (a page joins its few namespaces once
/// per session, and joins them again only after a drop, which is a new session); Engine.IO pongs and noops
/// 5 a second after a burst of 20 (a client sends one pong per ping interval, 25 s, and a noop or two while
/// upgrading). A client over any of them for 10 s without a 1 s pause is a loop, not a person, and goes.
public struct ClientBudgetConfiguration: Sendable, Equatable {
    /// Events per socket.
    public var events: BudgetLimit
    /// Namespace CONNECT packets per Engine.IO session.
    public var namespaceCycles: BudgetLimit
    /// Engine.IO pong and noop packets per session.
    public var pings: BudgetLimit
    /// How long a client may stay over a budget, refusal after refusal, before it is disconnected (milliseconds).
    public var disconnectAfter: Int64

    /// Refusals further apart than this (milliseconds) are separate episodes: a pause this long resets the
    /// clock towards ``disconnectAfter``.
    public static let quietGap: Int64 = 1000

    public static let defaultEvents = BudgetLimit(perSecond: 50, burst: 200)
    public static let defaultNamespaceCycles = BudgetLimit(perSecond: 5, burst: 20)
    public static let defaultPings = BudgetLimit(perSecond: 5, burst: 20)
    public static let defaultDisconnectAfter: Int64 = 10_000

    /// - Parameters:
    ///   - events: events per socket; default 50 a second after a burst of 200.
    ///   - namespaceCycles: namespace CONNECTs per session; default 5 a second after a burst of 20.
    ///   - pings: Engine.IO pongs and noops per session; default 5 a second after a burst of 20.
    ///   - disconnectAfter: milliseconds over a budget before the client goes; default 10 000.
    public init(
        events: BudgetLimit = Self.defaultEvents, namespaceCycles: BudgetLimit = Self.defaultNamespaceCycles,
        pings: BudgetLimit = Self.defaultPings, disconnectAfter: Int64 = Self.defaultDisconnectAfter
    ) {
        self.events = events
        self.namespaceCycles = namespaceCycles
        self.pings = pings
        self.disconnectAfter = max(disconnectAfter, 1)
    }

    /// A fresh budget of `cause` at `now`.
    public func budget(_ cause: BudgetCause, now: Int64) -> ClientBudget {
        let limit = switch cause {
        case .events: events
        case .namespaceCycles: namespaceCycles
        case .pings: pings
        }
        return ClientBudget(limit, disconnectAfter: disconnectAfter, now: now)
    }
}

/// What the per-client budgets refused and whom they disconnected, by cause, for `/metrics`. A class so the
/// Socket.IO layer and the engine count into the one the engine owns. Service thread only.
public final class BudgetCounters {
    /// Inputs dropped over budget.
    public private(set) var refused: [BudgetCause: Int] = [:]
    /// Clients disconnected for staying over budget.
    public private(set) var disconnects: [BudgetCause: Int] = [:]

    public init() {}

    public func countRefusal(_ cause: BudgetCause) { refused[cause, default: 0] &+= 1 }
    public func countDisconnect(_ cause: BudgetCause) { disconnects[cause, default: 0] &+= 1 }
}
