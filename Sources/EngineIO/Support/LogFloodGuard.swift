#if canImport(Glibc)
import Glibc
#endif

/// Keeps a client from writing the log for us: lines a client can cause at will (a refused request, a bad
/// packet, a namespace joined and left in a loop) go through here, keyed by their cause and by who caused
/// them (an address, or one session for lines that many honest clients of one address each cause once).
///
/// Per key, the first ``burst`` lines of a ``window`` are written; the rest are counted, and the next line
/// written for that key says how many were left out. So ordinary traffic is logged line by line — 200
/// clients of one address each get their own `connect` line — while a loop gets a handful of lines and a
/// count. Keys live in a table of at most ``capacity`` entries; when it is full, finished windows are swept,
/// and if none has finished every new key shares one overflow key, so addresses made up on the fly cannot
/// grow it or get past it. Any thread (one lock).
public final class LogFloodGuard: @unchecked Sendable {  // Sendable: every field is guarded by `lock`
    /// Lines written per key and window.
    public let burst: Int
    /// The window, in milliseconds of the monotonic clock.
    public let window: Int64
    /// The most keys kept at once.
    public let capacity: Int

    private struct Entry {
        var windowStart: Int64
        var written: Int
        var suppressed: Int
    }

    /// Allocated: pthreads needs a stable address, which a class's stored property is not promised to have.
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private var entries: [String: Entry] = [:]
    private var suppressedTotal: UInt64 = 0
    private static let overflowKey = "*"

    public init(burst: Int = 5, window: Int64 = 10_000, capacity: Int = 10_000) {
        self.burst = max(burst, 1)
        self.window = max(window, 1)
        self.capacity = max(capacity, 2)
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_mutex_t())
        pthread_mutex_init(lock, nil)
    }

    deinit {
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    /// Every line left out so far (for `/metrics`).
    public var suppressedLines: UInt64 {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return suppressedTotal
    }

    /// Whether a line of `cause` from `source` is written at `now` (monotonic milliseconds): nil when it is
    /// left out, else how many of its kind were left out before it (to say so in the line).
    public func admit(cause: String, source: String, now: Int64) -> Int? {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        var key = cause + " " + Self.group(source)
        if entries[key] == nil, entries.count >= capacity {
            entries = entries.filter { now - $0.value.windowStart < window }
            if entries.count >= capacity { key = cause + " " + Self.overflowKey }
        }
        var entry = entries[key] ?? Entry(windowStart: now, written: 0, suppressed: 0)
        if now - entry.windowStart >= window {
            entry.windowStart = now
            entry.written = 0
        }
        guard entry.written < burst else {
            entry.suppressed += 1
            suppressedTotal &+= 1
            entries[key] = entry
            return nil
        }
        entry.written += 1
        let left = entry.suppressed
        entry.suppressed = 0
        entries[key] = entry
        return left
    }

    /// The part of an address that names one client: an IPv6 address by its /64 (one host holds a whole
    /// /64), anything else as it is; the same grouping as the per-address limits.
    static func group(_ source: String) -> String {
        AddressLimits.group(source)
    }
}

extension Logger {
    /// Writes a line a client can cause at will, unless ``LogFloodGuard`` leaves it out: `cause` names the
    /// kind of line (a fixed word), `source` who caused it (the peer address, or a session id for lines that
    /// each honest client causes once). A line written after some were left out says how many.
    public func limited(_ level: LogLevel, cause: String, source: String, _ message: @autoclosure () -> String) {
        guard isEnabled(level) else { return }
        guard let left = floodGuard.admit(cause: cause, source: source, now: MonotonicMilliseconds.now()) else { return }
        if left == 0 {
            log(level, message())
        } else {
            log(level, message() + " (and \(left) more like it from \(LogSafe.text(source)) left out)")
        }
    }
}
