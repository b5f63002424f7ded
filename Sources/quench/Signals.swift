#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchApp

/// SIGINT and SIGTERM become a graceful stop: they are blocked in every thread and received by one
/// thread with `sigwait`, which asks the server to stop through its inbox — no work in a signal handler.
enum Signals {
    /// Blocks SIGINT and SIGTERM in this thread and every thread started after it.
    static func blockTermination() {
        var set = terminationSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Runs `stop` on the first SIGINT/SIGTERM; a second one ends the process at once.
    static func onTermination(_ stop: @escaping @Sendable () -> Void) {
        BackgroundThread.start {
            var set = terminationSet()
            var received: Int32 = 0
            sigwait(&set, &received)
            stop()
            sigwait(&set, &received)
            _exit(1)
        }
    }

    private static func terminationSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        return set
    }
}

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
