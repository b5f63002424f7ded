#if canImport(Glibc)
import Glibc
#endif

/// A mutex with a condition variable: guards a queue that one thread fills and another drains (the Redis
/// publisher and recovery store, the log writer).
///
/// The pthread objects live in memory allocated here, not in stored properties: pthreads need them at a
/// fixed address for their whole life, and Swift promises no stable address for a class's stored
/// property (`&property` may hand over a temporary copy).
public final class LockedCondition: @unchecked Sendable {  // Sendable: all state is behind `mutex`, which this type is
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deinitialize(count: 1)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with the mutex held.
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Wakes the waiting thread. Call with the lock held (inside `withLock`).
    public func signal() { pthread_cond_signal(condition) }

    /// Waits (lock held, inside `withLock`) for a signal or until `milliseconds` pass; nil waits forever.
    public func wait(milliseconds: Int64?) {
        guard let milliseconds else {
            pthread_cond_wait(condition, mutex)
            return
        }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let total = Int64(now.tv_nsec) + (milliseconds % 1000) * 1_000_000
        var deadline = timespec(
            tv_sec: now.tv_sec + time_t(milliseconds / 1000) + time_t(total / 1_000_000_000), tv_nsec: Int(total % 1_000_000_000))
        pthread_cond_timedwait(condition, mutex, &deadline)
    }
}
