#if canImport(Glibc)
import Glibc
#endif

/// A value behind a pthread mutex, for state that several threads share.
///
/// Why not `Synchronization.Mutex`: on Linux its contended path waits on a futex inside
/// libswiftSynchronization, which is not built with ThreadSanitizer, so two threads that really did take
/// turns look unordered to it and `make sanitize` reports races that are not there (seen in
/// BoundedJobQueueTests with many threads posting at once). ThreadSanitizer intercepts
/// `pthread_mutex_lock`, so a race it reports here is a real one. The mutex lives in memory allocated for
/// it (pthreads needs a stable address, which a class's stored property is not promised to have).
public final class Lock<Value>: @unchecked Sendable {  // Sendable: `value` is read and written only with `mutex` held
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the value, the lock held.
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
