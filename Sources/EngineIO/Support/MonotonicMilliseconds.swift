#if canImport(Glibc)
import Glibc
#endif

/// The monotonic clock in milliseconds: deadlines, backoffs and log windows on every thread, which a change
/// of the wall clock must not move.
public enum MonotonicMilliseconds {
    public static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}
