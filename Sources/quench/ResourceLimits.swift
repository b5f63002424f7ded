#if canImport(Glibc)
import Glibc
#endif
import EngineIO

/// Lifts the open-file limit to the hard limit: every connection is a file descriptor, and the
/// default soft limit (1024) would cap the server far below what it can hold.
enum ResourceLimits {
    static func raiseOpenFiles(log: EngineIO.Logger) {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        let previous = limit.rlim_cur
        limit.rlim_cur = limit.rlim_max
        if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            log.debug("open files limit raised from \(previous) to \(limit.rlim_max)")
        }
    }
}
