/// The bytes a session may keep queued for a client that has not taken them yet (`--max-buffered`), and
/// how far the client has taken its stream.
///
/// One budget per outbound queue: the session's own (polling packets waiting for a GET) and the WebSocket
/// connection's (frames waiting for the socket, and the tail lws still holds). Whoever queues asks
/// ``add(_:)`` ("may I add this?"); a refusal means the client is not reading and its session ends: the
/// queue is bounded by the limit, plus one frame when the queue was empty (a single reply, however large,
/// is always accepted). The cost per packet is an add and a compare; nothing is ever scanned.
///
/// The running totals also tell when a given packet has left: a ping queued when ``end`` was N has been
/// taken once ``sent`` reaches N (see ``hasSent(through:)``), which is what makes a pong count.
public struct OutboundBudget: Sendable, Equatable {
    /// The most bytes that may wait at once.
    public let limit: Int
    /// Bytes queued and not yet taken by the client.
    public private(set) var queued = 0
    /// Bytes that have left the queue since the budget began (monotonic).
    public private(set) var sent = 0

    /// - Parameter limit: the most bytes that may wait at once (`--max-buffered`).
    public init(limit: Int) {
        self.limit = limit
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
        return true
    }

    /// `bytes` of what was queued have left for the client.
    public mutating func drain(_ bytes: Int) {
        queued &-= bytes
        sent &+= bytes
    }

    /// Forgets what is queued (the queue was dropped; nothing more will leave).
    public mutating func dropAll() {
        queued = 0
    }

    /// Whether everything up to stream position `mark` (a past ``end``) has left the queue.
    public func hasSent(through mark: Int) -> Bool { sent >= mark }
}
