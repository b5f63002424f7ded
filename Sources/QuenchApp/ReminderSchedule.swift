/// When hydration reminders fire: at every multiple of the interval on the local wall clock (120 s is
/// every even minute, as in the seed), each boundary exactly once.
///
/// Pure arithmetic over nanoseconds, so tests drive it without waiting.
public struct ReminderSchedule: Sendable, Equatable {
    /// Seconds between reminders; positive, at most ``maxIntervalSeconds``.
    public let intervalSeconds: Int64

    /// The longest interval (a day): far from where the nanosecond arithmetic below would overflow
    /// (about 292 years), and `--reminder-interval` refuses anything longer.
    public static let maxIntervalSeconds: Int64 = 86_400

    public init(intervalSeconds: Int64) {
        precondition((1...Self.maxIntervalSeconds).contains(intervalSeconds), "a reminder interval must be 1 s to 24 h")
        self.intervalSeconds = intervalSeconds
    }

    /// The first boundary strictly after `nanoseconds` (UTC epoch), aligned to local time: with an hourly
    /// interval in a +05:30 zone, reminders come on the local hour, not at half past.
    /// - Parameters:
    ///   - nanoseconds: the moment to start from, in nanoseconds since the epoch.
    ///   - utcOffset: the local zone's offset from UTC at that moment, in seconds.
    public func nextBoundary(after nanoseconds: Int64, utcOffset: Int) -> Int64 {
        let interval = intervalSeconds * 1_000_000_000
        let local = nanoseconds + Int64(utcOffset) * 1_000_000_000
        let next = (local.dividedRoundingDown(by: interval) + 1) * interval
        return next - Int64(utcOffset) * 1_000_000_000
    }
}

extension Int64 {
    /// Floor division, so instants before the epoch still land on the boundary below them.
    func dividedRoundingDown(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
