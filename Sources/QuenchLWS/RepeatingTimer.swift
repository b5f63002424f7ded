#if canImport(Glibc)
import Glibc
#endif
import CLibWebSockets
import EngineIO

/// An lws timer that fires every `period` on the service thread and tells its action how late the
/// loop was in serving it: the service loop's own pulse (the systemd watchdog, the loop-lag metric).
/// A loop that stops turning stops firing it, which is the point. Service thread only.
final class RepeatingTimer {
    private var timer: LWSTimer?
    private let periodMicroseconds: Int64
    /// When the next firing is due (CLOCK_MONOTONIC microseconds).
    private var due: Int64 = 0

    init(context: OpaquePointer, periodMicroseconds: Int64, action: @escaping (_ lateMicroseconds: Int64) -> Void) {
        self.periodMicroseconds = max(periodMicroseconds, 1000)
        timer = LWSTimer(context: context) { [unowned self] in
            let now = Self.microseconds()
            let late = max(now - self.due, 0)
            self.due = now + self.periodMicroseconds
            self.timer?.schedule(inMicroseconds: self.periodMicroseconds)
            action(late)
        }
        due = Self.microseconds() + self.periodMicroseconds
        timer?.schedule(inMicroseconds: self.periodMicroseconds)
    }

    /// Stops it for good; before the context is destroyed.
    func cancel() {
        timer?.cancel()
        timer = nil
    }

    static func microseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }
}

extension LWSServer {
    /// Runs `action` on the service thread every `milliseconds`, from ``run()`` until the server stops,
    /// with how late the loop served it. After ``start()``, on the thread that will call ``run()``.
    public func repeatEvery(milliseconds: Int64, _ action: @escaping (_ lateMicroseconds: Int64) -> Void) {
        guard let context else { preconditionFailure("repeatEvery needs start() first") }
        repeatingTimers.append(RepeatingTimer(context: context, periodMicroseconds: milliseconds * 1000, action: action))
    }
}
