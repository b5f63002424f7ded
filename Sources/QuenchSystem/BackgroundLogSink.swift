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
public final class BackgroundLogSink: LogSink, @unchecked Sendable {  // Sendable: the queue's fields are guarded by `lock`
    /// Bytes of lines that may wait to be written.
    public let capacity: Int
    private let inner: any LogSink

    /// Guards everything below; the writer thread sleeps on it.
    private let lock = LockedCondition()
    private var lines: [String] = []
    private var bytes = 0
    private var dropped = 0
    private var writing = false

    public init(_ inner: any LogSink, capacity: Int = 4 << 20) {
        self.inner = inner
        self.capacity = max(capacity, 1024)
        BackgroundThread.start(name: "log-writer") { [self] in run() }
    }

    /// Lines dropped since the last report, for tests.
    public var droppedNow: Int { lock.withLock { dropped } }

    public func write(_ line: String) {
        lock.withLock {
            guard bytes + line.utf8.count <= capacity else {
                dropped += 1
                return
            }
            lines.append(line)
            bytes += line.utf8.count
            lock.signal()
        }
    }

    /// Waits until every line handed over so far has been written, at most `timeoutMilliseconds`.
    public func flush(timeoutMilliseconds: Int64 = 2000) {
        let deadline = MonotonicMilliseconds.now() + timeoutMilliseconds
        while MonotonicMilliseconds.now() < deadline {
            if lock.withLock({ lines.isEmpty && !writing && dropped == 0 }) { return }
            usleep(2000)  // a short wait for the writer thread, bounded by the deadline
        }
    }

    private func run() {
        while true {
            let (batch, lost) = lock.withLock { () -> ([String], Int) in
                while lines.isEmpty && dropped == 0 { lock.wait(milliseconds: nil) }
                let batch = lines
                // The count is reported once the lines before it are out, so it follows them.
                let lost = batch.isEmpty ? dropped : 0
                lines = []
                bytes = 0
                if lost > 0 { dropped = 0 }
                writing = true
                return (batch, lost)
            }
            for line in batch { inner.write(line) }
            if lost > 0 { inner.write("warn log: \(lost) lines dropped: standard error did not take them fast enough\n") }
            lock.withLock { writing = false }
        }
    }
}
