/// The bytes a session may keep queued for a client that has not taken them yet (`--max-buffered`), and
/// how far the client has taken its stream.
///
/// One budget per outbound queue: the session's own (polling packets waiting for a GET) and the WebSocket
/// connection's (frames waiting for the socket, and the tail lws still holds). Whoever queues asks
/// ``add(_:)`` ("may I add this?"); a refusal means the client is not reading and its session ends: the
/// queue is bounded by the limit, plus one frame when the queue was empty (a single reply, however large,
/// is always accepted). The cost per packet is an add and a compare; nothing is ever scanned.
///
/// Every budget of an engine also reports to its ``OutboundMemory`` (all clients together,
/// `--max-buffered-total`): one more addition per packet queued and one per packet gone.
///
/// The running totals also tell when a given packet has left: a ping queued when ``end`` was N has been
/// taken once ``sent`` reaches N (see ``hasSent(through:)``), which is what makes a pong count.
public struct OutboundBudget: Sendable {
    /// The most bytes that may wait at once.
    public let limit: Int
    /// Bytes queued and not yet taken by the client.
    public private(set) var queued = 0
    /// Bytes that have left the queue since the budget began (monotonic).
    public private(set) var sent = 0
    /// All clients' queues together, which this one's bytes count in; nil for none (tests, ``holdingNothing``).
    public let memory: OutboundMemory?

    /// - Parameters:
    ///   - limit: the most bytes that may wait at once (`--max-buffered`).
    ///   - memory: the total this queue counts in (`--max-buffered-total`); nil for none.
    public init(limit: Int, memory: OutboundMemory? = nil) {
        self.limit = limit
        self.memory = memory
    }

    /// The budget of a transport that queues nothing itself: every mark has always been sent.
    public static let holdingNothing = OutboundBudget(limit: 0)

    /// The stream position just past everything queued so far.
    public var end: Int { sent &+ queued }

    /// Counts `bytes` more as queued if the limit allows; false (and nothing counted) if it does not.
    /// An empty queue accepts anything: a single packet larger than the limit still goes out.
    public mutating func add(_ bytes: Int) -> Bool {
        let total = queued &+ bytes
        guard total <= limit || queued == 0 else { return false }
        queued = total
        memory?.added(bytes)
        return true
    }

    /// Whether queueing `bytes` more would take all clients' queues together past `--max-buffered-total`:
    /// the caller has the biggest holders closed first (``OutboundMemory/reclaim(needing:)``), before its
    /// own queue grows.
    @inline(__always) public func passesTotal(adding bytes: Int) -> Bool {
        memory?.wouldPass(adding: bytes) ?? false
    }

    /// `bytes` of what was queued have left for the client.
    public mutating func drain(_ bytes: Int) {
        queued &-= bytes
        sent &+= bytes
        memory?.left(bytes)
    }

    /// Forgets what is queued (the queue was dropped; nothing more will leave).
    public mutating func dropAll() {
        memory?.droppedQueue(queued)
        queued = 0
    }

    /// Whether everything up to stream position `mark` (a past ``end``) has left the queue.
    public func hasSent(through mark: Int) -> Bool { sent >= mark }
}

extension OutboundBudget: Equatable {
    /// Budgets are equal when their limits and positions are (whichever total they count in).
    public static func == (lhs: OutboundBudget, rhs: OutboundBudget) -> Bool {
        lhs.limit == rhs.limit && lhs.queued == rhs.queued && lhs.sent == rhs.sent
    }
}
