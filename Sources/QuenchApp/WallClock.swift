#if canImport(Glibc)
import Glibc
#endif

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
    public var hoursMinutesSeconds: String { "\(Self.twoDigits(hour)):\(Self.twoDigits(minute)):\(Self.twoDigits(second))" }
    /// `HH:MM`, as in the seed's reminders.
    public var hoursMinutes: String { "\(Self.twoDigits(hour)):\(Self.twoDigits(minute))" }

    private static func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}

/// Where the app reads the time; tests substitute a fixed clock.
public protocol WallClock: Sendable {
    func now() -> WallTime
    /// The local-time fields of an arbitrary moment.
    func time(atNanoseconds nanoseconds: Int64) -> WallTime
}

/// The system's real-time clock and time zone (`TZ`, else /etc/localtime).
public struct SystemWallClock: WallClock {
    public init() {
        tzset()
    }

    public func now() -> WallTime {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return time(atNanoseconds: Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec))
    }

    public func time(atNanoseconds nanoseconds: Int64) -> WallTime {
        var seconds = time_t(nanoseconds / 1_000_000_000)
        var fields = tm()
        localtime_r(&seconds, &fields)
        return WallTime(
            nanoseconds: nanoseconds, hour: Int(fields.tm_hour), minute: Int(fields.tm_min), second: Int(fields.tm_sec),
            utcOffset: Int(fields.tm_gmtoff))
    }
}
