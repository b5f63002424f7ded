#if canImport(Glibc)
import Glibc
#endif
import EngineIO

/// A log sink that never makes the thread that logs wait for standard error: lines go into a bounded
/// buffer and a thread of its own writes them, in order, to the sink it wraps.
///
/// Why: `write(2)` to standard error blocks when whatever reads it stops reading (a full pipe, a journald
/// that throttles, a terminal that is scrolled back). The service thread logs, so a stalled reader would
/// stall every client. Past ``capacity`` bytes waiting, a line is dropped and counted; once the buffer has
/// room again, one line says how many were dropped. ``flush(timeoutMilliseconds:)`` waits (boundedly) for
/// the buffer to drain, for the last lines before the process exits.
public final class BackgroundLogSink: LogSink, @unchecked Sendable {  // Sendable: the state is guarded by `state`'s lock
    /// Bytes of lines that may wait to be written.
    public let capacity: Int
    private let inner: any LogSink

    private struct State {
        var lines: [String] = []
        var bytes = 0
        var dropped = 0
        var writing = false
    }

    private let state = Lock(State())
    private let wakeUp = Condition()

    public init(_ inner: any LogSink, capacity: Int = 4 << 20) {
        self.inner = inner
        self.capacity = max(capacity, 1024)
        BackgroundThread.start { [self] in run() }
    }

    /// Lines dropped since the last report, for tests.
    public var droppedNow: Int { state.withLock { $0.dropped } }

    public func write(_ line: String) {
        let queued = state.withLock { state -> Bool in
            guard state.bytes + line.utf8.count <= capacity else {
                state.dropped += 1
                return false
            }
            state.lines.append(line)
            state.bytes += line.utf8.count
            return true
        }
        if queued { wakeUp.signal() }
    }

    /// Waits until every line handed over so far has been written, at most `timeoutMilliseconds`.
    public func flush(timeoutMilliseconds: Int64 = 2000) {
        let deadline = Self.now() + timeoutMilliseconds
        while Self.now() < deadline {
            let done = state.withLock { $0.lines.isEmpty && !$0.writing && $0.dropped == 0 }
            if done { return }
            wakeUp.signal()
            usleep(2000)  // a short wait for the writer thread, bounded by the deadline
        }
    }

    private func run() {
        while true {
            wakeUp.wait(milliseconds: 1000)
            while true {
                let (batch, dropped) = state.withLock { state -> ([String], Int) in
                    let batch = state.lines
                    let dropped = state.lines.isEmpty ? state.dropped : 0
                    state.lines = []
                    state.bytes = 0
                    if !batch.isEmpty || dropped > 0 { state.writing = true }
                    if dropped > 0 { state.dropped = 0 }
                    return (batch, dropped)
                }
                guard !batch.isEmpty || dropped > 0 else { break }
                for line in batch { inner.write(line) }
                if dropped > 0 {
                    inner.write("warn log: \(dropped) lines dropped: standard error did not take them fast enough\n")
                }
                state.withLock { $0.writing = false }
            }
        }
    }

    private static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}

/// A condition variable the writer thread sleeps on; a signal that comes while it is not waiting is kept
/// (one pending wake-up), so no line waits for the next timeout.
final class Condition: @unchecked Sendable {  // Sendable: `pending` is read and written with `mutex` held
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var pending = false

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func signal() {
        pthread_mutex_lock(mutex)
        pending = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Returns once signalled (now or before) or after `milliseconds`.
    func wait(milliseconds: Int64) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if pending {
            pending = false
            return
        }
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let nanoseconds = Int64(deadline.tv_nsec) + (milliseconds % 1000) * 1_000_000
        deadline.tv_sec += Int(milliseconds / 1000) + Int(nanoseconds / 1_000_000_000)
        deadline.tv_nsec = Int(nanoseconds % 1_000_000_000)
        _ = pthread_cond_timedwait(condition, mutex, &deadline)
        pending = false
    }
}
