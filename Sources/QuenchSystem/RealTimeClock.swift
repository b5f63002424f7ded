#if canImport(Glibc)
import Glibc
#endif

/// The system's real-time (wall) clock and its time zone, for code above that imports no C: the app's
/// `SystemWallClock` reads it once a reply, its reminder thread sleeps on it.
public enum RealTimeClock {
    /// Local-time fields of one moment, as `localtime_r` gives them.
    public struct LocalTime: Sendable, Equatable {
        public var hour: Int
        public var minute: Int
        public var second: Int
        /// Seconds east of UTC in force at that moment (changes across DST).
        public var utcOffset: Int
    }

    /// Reads `TZ` (else /etc/localtime) once, so later local-time conversions need not.
    public static func loadTimeZone() { tzset() }

    /// Nanoseconds since the Unix epoch (UTC). Inlinable: it is read for every reply.
    @inlinable public static func nanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    /// The local-time fields of `nanoseconds` since the epoch.
    public static func localTime(atNanoseconds nanoseconds: Int64) -> LocalTime {
        var seconds = time_t(nanoseconds / 1_000_000_000)
        var fields = tm()
        localtime_r(&seconds, &fields)
        return LocalTime(
            hour: Int(fields.tm_hour), minute: Int(fields.tm_min), second: Int(fields.tm_sec), utcOffset: Int(fields.tm_gmtoff))
    }

    /// Sleeps until the wall clock reads `nanoseconds` since the epoch (absolute, so a clock step is honoured).
    /// - Returns: false if the sleep was interrupted before then; the caller recomputes and never acts early.
    public static func sleep(untilNanoseconds nanoseconds: Int64) -> Bool {
        var target = timespec(tv_sec: time_t(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        return clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &target, nil) == 0
    }
}
