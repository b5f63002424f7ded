import QuenchSystem

/// A moment on the wall clock, with its local-time fields (TZ honoured).
public struct WallTime: Sendable, Equatable {
    /// Nanoseconds since the Unix epoch (UTC).
    public var nanoseconds: Int64
    public var hour: Int
    public var minute: Int
    public var second: Int
    /// Seconds east of UTC in force at this moment (changes across DST).
    public var utcOffset: Int

    /// `HH:MM:SS`, as in the seed's replies.
    public var hoursMinutesSeconds: String { clockText(withSeconds: true) }
    /// `HH:MM`, as in the seed's reminders.
    public var hoursMinutes: String { clockText(withSeconds: false) }

    /// The longest clock text, `HH:MM:SS`.
    public static let clockTextMaxLength = 8

    /// Writes the clock text into `out` (room for ``clockTextMaxLength`` bytes) and returns its length.
    /// It is in every reply, so it is written in place: no intermediate array or string.
    public func writeClock(withSeconds: Bool, into out: UnsafeMutablePointer<UInt8>) -> Int {
        func write(_ field: Int, at position: Int) {
            out[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: field / 10 % 10)
            out[position + 1] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: field % 10)
        }
        write(hour, at: 0)
        out[2] = UInt8(ascii: ":")
        write(minute, at: 3)
        guard withSeconds else { return 5 }
        out[5] = UInt8(ascii: ":")
        write(second, at: 6)
        return 8
    }

    private func clockText(withSeconds: Bool) -> String {
        String(unsafeUninitializedCapacity: Self.clockTextMaxLength) { out in
            writeClock(withSeconds: withSeconds, into: out.baseAddress!)
        }
    }
}

/// Where the app reads the time; tests substitute a fixed clock.
public protocol WallClock: Sendable {
    func now() -> WallTime
    /// The local-time fields of an arbitrary moment.
    func time(atNanoseconds nanoseconds: Int64) -> WallTime
}

/// The system's real-time clock and time zone (`TZ`, else /etc/localtime).
///
/// Every reply carries the local time, so the broken-down time of the current second is cached:
/// `localtime_r` runs once a second instead of once a message. Local time only changes at whole
/// seconds, DST switches included, so the cache is exact.
public final class SystemWallClock: WallClock, @unchecked Sendable {
    private struct Cached {
        var second: Int64
        var time: WallTime
    }

    /// Guarded by the lock; uncontended in practice (one clock per thread that asks).
    private let cache = Lock<Cached?>(nil)

    public init() {
        RealTimeClock.loadTimeZone()
    }

    public func now() -> WallTime {
        let nanoseconds = RealTimeClock.nanoseconds()
        let second = nanoseconds / 1_000_000_000
        if let hit = cache.withLock({ $0?.second == second ? $0?.time : nil }) {
            var time = hit
            time.nanoseconds = nanoseconds
            return time
        }
        let time = self.time(atNanoseconds: nanoseconds)
        cache.withLock { $0 = Cached(second: second, time: time) }
        return time
    }

    public func time(atNanoseconds nanoseconds: Int64) -> WallTime {
        let fields = RealTimeClock.localTime(atNanoseconds: nanoseconds)
        return WallTime(
            nanoseconds: nanoseconds, hour: fields.hour, minute: fields.minute, second: fields.second, utcOffset: fields.utcOffset)
    }
}
