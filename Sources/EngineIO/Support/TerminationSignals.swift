#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM become a graceful stop: they are blocked in every thread and received by one
/// thread with `sigwait`, which asks the server to stop through a thread-safe call — no work in a
/// signal handler. A second signal ends the process at once.
public enum TerminationSignals {
    /// Blocks SIGINT and SIGTERM in this thread and every thread started after it: call it first.
    public static func block() {
        var set = terminationSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Runs `stop` on the first SIGINT/SIGTERM, on a thread of its own.
    public static func onSignal(_ stop: @escaping @Sendable () -> Void) {
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
