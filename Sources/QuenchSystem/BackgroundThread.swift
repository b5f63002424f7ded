#if canImport(Glibc)
import Glibc
#endif

/// Starts a detached POSIX thread running `body`. The reminder, signal and message-queue threads use
/// it; they only ever talk to the server through its ``ServiceExecutor``.
///
/// Each is named (`top -H`, `perf`, `/proc/<pid>/task/*/comm`), so an operator can tell which of them
/// spends the CPU.
public enum BackgroundThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// - Parameters:
    ///   - name: the thread's name; the kernel keeps its first 15 bytes.
    ///   - body: what the thread runs.
    public static func start(name: String = "quench-worker", _ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Body { nameThisThread(name); body() }).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            guard let argument else { return nil }
            Unmanaged<Body>.fromOpaque(argument).takeRetainedValue().run()
            return nil
        }, context)
        precondition(result == 0, "pthread_create failed: \(result)")
        pthread_detach(thread)
    }

    /// Glibc's `pthread_setname_np` is hidden behind `_GNU_SOURCE` and `prctl` is variadic; the thread's own
    /// `comm` file in /proc does the same from inside the thread. A failure only leaves the name inherited.
    private static func nameThisThread(_ name: String) {
        let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
    }
}
