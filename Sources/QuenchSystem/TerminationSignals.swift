#if canImport(Glibc)
import Glibc
#endif

/// The signals the server answers, received by one thread with `sigwait` (no work in a signal handler):
/// SIGINT and SIGTERM become a graceful stop (a second one ends the process at once); SIGHUP asks for
/// a reload, as daemons conventionally do, and is otherwise ignored — never the default, which kills.
/// Each is blocked in every thread, and the waiting thread hands the work on through thread-safe calls.
public enum TerminationSignals {
    /// Blocks SIGINT, SIGTERM and SIGHUP in this thread and every thread started after it: call it first.
    public static func block() {
        var set = handledSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Runs `stop` on the first SIGINT/SIGTERM and `reload` (if any) on each SIGHUP, on a thread of its own.
    /// - Parameters:
    ///   - reload: called for every SIGHUP until the stop; nil ignores SIGHUP.
    ///   - stop: called once, for the first SIGINT or SIGTERM; the next one exits with status 1, after
    ///     `exiting` (given the signal's name) has had its say.
    public static func onSignal(
        reload: (@Sendable () -> Void)? = nil, exiting: (@Sendable (String) -> Void)? = nil, _ stop: @escaping @Sendable () -> Void
    ) {
        BackgroundThread.start(name: "signals") {
            var set = handledSet()
            var received: Int32 = 0
            var stopping = false
            while true {
                guard sigwait(&set, &received) == 0 else { continue }
                if received == SIGHUP {
                    if !stopping { reload?() }
                    continue
                }
                if stopping {
                    exiting?(received == SIGINT ? "SIGINT" : "SIGTERM")
                    _exit(1)
                }
                stopping = true
                stop()
            }
        }
    }

    private static func handledSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGHUP)
        return set
    }
}
