#if canImport(Glibc)
import Glibc
#endif
import EngineIO

/// The seed's background reminder thread, done properly: instead of waking every second and hoping to
/// catch `second == 0`, it sleeps until the exact next boundary (`clock_nanosleep` on the real-time
/// clock, absolute), then hands the reminder to the service thread. No tick is missed or doubled.
public enum ReminderThread {
    /// Starts the thread. `fire` runs on the service thread via `executor`, with the boundary's time.
    public static func start(
        schedule: ReminderSchedule, clock: some WallClock, executor: any ServiceExecutor,
        fire: @escaping @Sendable (WallTime) -> Void
    ) {
        BackgroundThread.start {
            var lastFired = Int64.min
            while true {
                let now = clock.now()
                let boundary = schedule.nextBoundary(after: max(now.nanoseconds, lastFired), utcOffset: now.utcOffset)
                var target = timespec(tv_sec: time_t(boundary / 1_000_000_000), tv_nsec: Int(boundary % 1_000_000_000))
                let result = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &target, nil)
                guard result == 0 else { continue }  // interrupted: recompute, never fire early
                guard clock.now().nanoseconds >= boundary else { continue }
                lastFired = boundary
                let at = clock.time(atNanoseconds: boundary)
                executor.execute { fire(at) }
            }
        }
    }
}
