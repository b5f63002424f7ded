/// Delays between reconnection attempts: `initial`, doubling, capped at `maximum`; `reset()` after success.
public struct RetryBackoff: Sendable, Equatable {
    /// The first delay, in milliseconds.
    public let initial: Int64
    /// The longest delay, in milliseconds.
    public let maximum: Int64
    private var current: Int64

    /// - Parameters:
    ///   - initial: the first delay in milliseconds; default 500.
    ///   - maximum: the cap in milliseconds; default 10 000.
    public init(initial: Int64 = 500, maximum: Int64 = 10_000) {
        self.initial = initial
        self.maximum = maximum
        self.current = initial
    }

    /// The delay before the next attempt; each call doubles the one after it.
    public mutating func next() -> Int64 {
        let delay = current
        current = min(current * 2, maximum)
        return delay
    }

    /// Back to `initial` (the connection worked).
    public mutating func reset() { current = initial }
}
