import EngineIO

/// The bound on what the Admin UI is sent as things happen: a token bucket per kind of report, refilled each
/// second. A report past it is counted and dropped, never queued, so a busy server does not slow down or
/// grow for a viewer; the UI's outbound queue is the admin client's own, bounded like any client's.
/// Service thread only.
struct AdminFeed {
    private var bucket: TokenBucket
    /// Reports dropped since the last log line about them.
    private(set) var dropped = 0
    /// Reports dropped since the start, for `/metrics`.
    private(set) var droppedTotal = 0
    private var lastLine: Int64 = 0
    /// One log line per this many milliseconds at most.
    static let logInterval: Int64 = 10_000

    /// - Parameters:
    ///   - perSecond: reports a second; burst the same.
    ///   - now: the engine's clock.
    init(perSecond: Int, now: Int64) {
        bucket = TokenBucket(perSecond: max(perSecond, 1), burst: max(perSecond, 1), now: now)
    }

    /// Reports that may be sent now, at most `wanted` (a broadcast asks for one per recipient).
    mutating func available(_ wanted: Int, now: Int64) -> Int {
        min(wanted, bucket.available(now: now))
    }

    /// Takes one report; false (and counted) past the budget.
    mutating func take(now: Int64) -> Bool {
        if bucket.take(now: now) { return true }
        drop(1)
        return false
    }

    /// Counts reports left out without asking (a broadcast's recipients past what was available).
    mutating func drop(_ count: Int) {
        dropped &+= count
        droppedTotal &+= count
    }

    /// The count to log when a line is due now; nil otherwise.
    mutating func droppedToLog(now: Int64) -> Int? {
        guard dropped > 0, now - lastLine >= Self.logInterval else { return nil }
        lastLine = now
        defer { dropped = 0 }
        return dropped
    }
}
