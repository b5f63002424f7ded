#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM become a graceful stop: blocked in every thread, received by one thread with
/// `sigwait`, which then asks the server to stop (a thread-safe call). A second signal ends the process.
enum Termination {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Blocks SIGINT and SIGTERM in this thread and every thread started after it.
    static func block() {
        var set = signals()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Starts the thread that waits for the signal and runs `stop` on the first one.
    static func onSignal(_ stop: @escaping @Sendable () -> Void) {
        let body = Unmanaged.passRetained(Body {
            var set = signals()
            var received: Int32 = 0
            sigwait(&set, &received)
            stop()
            sigwait(&set, &received)
            _exit(1)
        }).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            guard let argument else { return nil }
            Unmanaged<Body>.fromOpaque(argument).takeRetainedValue().run()
            return nil
        }, body)
        precondition(result == 0, "pthread_create failed: \(result)")
        pthread_detach(thread)
    }

    private static func signals() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        return set
    }
}
