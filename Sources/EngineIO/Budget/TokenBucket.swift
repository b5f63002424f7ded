/// A token bucket: `burst` tokens at most, `perSecond` of them coming back each second. Counted in
/// thousandths of a token so that the refill (`perSecond` thousandths per millisecond) stays exact with
/// integer milliseconds. A value type of two integers, cheap enough to keep one per socket.
public struct TokenBucket: Sendable, Equatable {
    /// Tokens that come back per second.
    public let perSecond: Int64
    /// Tokens the bucket holds when full.
    public let burst: Int64
    private var milliTokens: Int64
    private var updatedAt: Int64

    /// A full bucket at `now` (milliseconds). Rates and bursts below 1 count as 1.
    public init(perSecond: Int, burst: Int, now: Int64) {
        self.perSecond = Int64(max(perSecond, 1))
        self.burst = Int64(max(burst, 1))
        milliTokens = self.burst * 1000
        updatedAt = now
    }

    /// Takes one token at `now` if there is one; false leaves the bucket as it was (bar the refill).
    public mutating func take(now: Int64) -> Bool {
        refill(now: now)
        guard milliTokens >= 1000 else { return false }
        milliTokens -= 1000
        return true
    }

    /// Gives back a token taken earlier (what it paid for turned out to cost nothing), up to full.
    public mutating func giveBack(now: Int64) {
        refill(now: now)
        milliTokens = min(milliTokens + 1000, burst * 1000)
    }

    /// Milliseconds from `now` until a token is there (0 when one is).
    public mutating func millisecondsUntilToken(now: Int64) -> Int64 {
        refill(now: now)
        guard milliTokens < 1000 else { return 0 }
        return (1000 - milliTokens + perSecond - 1) / perSecond
    }

    /// Whether the bucket is full at `now` (its owner has been quiet long enough to start afresh).
    public mutating func isFull(now: Int64) -> Bool {
        refill(now: now)
        return milliTokens == burst * 1000
    }

    /// Whole tokens left at `now`.
    public mutating func available(now: Int64) -> Int {
        refill(now: now)
        return Int(milliTokens / 1000)
    }

    private mutating func refill(now: Int64) {
        let full = burst * 1000
        let elapsed = now - updatedAt
        guard elapsed > 0 else { return }
        // No overflow after a long idle: once `full` milliseconds have passed the bucket is full at any rate ≥ 1.
        let gained = elapsed >= full ? full : elapsed * perSecond
        milliTokens = min(milliTokens + gained, full)
        updatedAt = now
    }
}
