/// The bytes queued for every client together, against `--max-buffered-total`: what ``OutboundBudget``
/// bounds per client, bounded here for all of them, since many clients that each stay under their own
/// limit can still hold more memory than the machine has.
///
/// One per engine (``EngineServer/outboundMemory``); every budget of its sessions and their connections
/// reports to it. The cost per packet is one addition as it is queued and one subtraction as it leaves;
/// the budget is only looked at when a queue is about to grow (``wouldPass(adding:)``), and past it
/// ``reclaim(needing:)`` has the engine close the clients holding the most unread bytes, biggest first,
/// until the total is back under the low-water mark (seven eighths of the limit), so that the next queued
/// packets do not each trigger a scan. Service thread only, like the engine; `@unchecked Sendable` only
/// so that a budget holding it stays `Sendable`.
public final class OutboundMemory: @unchecked Sendable {
    /// The most bytes all clients' queues may hold together.
    public let limit: Int
    /// Bytes queued now for all clients, not yet taken by them.
    public internal(set) var queued = 0
    /// Sessions closed because they held the most unread bytes when the total reached ``limit``.
    public internal(set) var closes = 0
    /// Sessions closed because their own queue passed `--max-buffered` (counted here too, for `/metrics`).
    public internal(set) var clientLimitCloses = 0
    /// Bytes of queues dropped (not sent: their client was closed) since ``takeDropped()`` last asked:
    /// memory the allocator may keep unless it is told to give it back.
    public private(set) var dropped = 0
    /// Closes the biggest holders until `needed` more bytes fit under the low-water mark (the engine).
    var reclaimer: ((_ needed: Int) -> Void)?
    /// Called when a queue is dropped with nothing dropped before it since ``takeDropped()`` last asked:
    /// the binding looks a moment later, rather than waking every second to find nothing.
    public var onFirstDrop: (() -> Void)?

    /// - Parameter limit: the most bytes queued for all clients together (`--max-buffered-total`).
    public init(limit: Int) {
        self.limit = limit
    }

    /// Where reclaiming stops: seven eighths of ``limit``.
    public var lowWater: Int { limit - limit / 8 }

    /// Whether queueing `bytes` more would take the total past ``limit``.
    @inline(__always) public func wouldPass(adding bytes: Int) -> Bool { queued &+ bytes > limit }

    /// Closes the clients holding the most unread bytes, biggest first, until `bytes` more fit under the
    /// low-water mark or no client holds any. The caller may be among those closed: it checks afterwards.
    public func reclaim(needing bytes: Int) {
        reclaimer?(bytes)
    }

    @inline(__always) func added(_ bytes: Int) {
        queued &+= bytes
    }

    @inline(__always) func left(_ bytes: Int) {
        queued &-= bytes
    }

    func droppedQueue(_ bytes: Int) {
        queued &-= bytes
        let first = dropped == 0
        dropped &+= bytes
        if first, bytes > 0 { onFirstDrop?() }
    }

    /// The bytes dropped since the last call, and starts counting again from zero (the binding asks, to
    /// hand freed memory back to the system once enough of it has gone).
    public func takeDropped() -> Int {
        defer { dropped = 0 }
        return dropped
    }

    /// A quarter of `physicalBytes`, at least ``minimumDefault`` and at most ``maximumDefault``: the default
    /// of `--max-buffered-total` on a machine with that much memory.
    public static func defaultLimit(physicalBytes: Int) -> Int {
        min(max(physicalBytes / 4, minimumDefault), maximumDefault)
    }

    /// 256 MiB: sixteen clients at the default `--max-buffered`.
    public static let minimumDefault = 256 * 1024 * 1024
    /// 16 GiB.
    public static let maximumDefault = 16 * 1024 * 1024 * 1024
}
