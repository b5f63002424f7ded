import EngineIO
import QuenchSystem

/// The seed's background reminder thread, done properly: instead of waking every second and hoping to
/// catch `second == 0`, it sleeps until the exact next boundary (QuenchSystem's `RealTimeClock`:
/// `clock_nanosleep` on the real-time clock, absolute), then hands the reminder to the service thread.
/// No tick is missed or doubled.
public enum ReminderThread {
    /// Starts the thread. `fire` runs on the service thread via `executor`, with the boundary's time.
    public static func start(
        schedule: ReminderSchedule, clock: some WallClock, executor: any ServiceExecutor,
        fire: @escaping @Sendable (WallTime) -> Void
    ) {
        BackgroundThread.start(name: "reminders") {
            var lastFired = Int64.min
            while true {
                let now = clock.now()
                let boundary = schedule.nextBoundary(after: max(now.nanoseconds, lastFired), utcOffset: now.utcOffset)
                guard RealTimeClock.sleep(untilNanoseconds: boundary) else { continue }  // interrupted: recompute, never fire early
                guard clock.now().nanoseconds >= boundary else { continue }
                lastFired = boundary
                let at = clock.time(atNanoseconds: boundary)
                executor.execute { fire(at) }
            }
        }
    }
}
