import EngineIO

/// An engine clock that moves only when a test says so; wake-ups fire as time passes them.
public final class ManualClock: EngineClock {
    public private(set) var nowMilliseconds: Int64
    /// The latest wake-up the engine asked for.
    public private(set) var requestedWakeup: Int64?
    /// The engine to wake (set after the engine is created with this clock).
    public weak var engine: EngineServer?

    public init(start: Int64 = 1_000_000) {
        nowMilliseconds = start
    }

    public func requestWakeup(at deadline: Int64) {
        requestedWakeup = deadline
    }

    /// Moves time forward, firing the engine's timers at each requested wake-up on the way, as the
    /// real timer would.
    public func advance(by milliseconds: Int64) {
        let target = nowMilliseconds + milliseconds
        while let wakeup = requestedWakeup, wakeup <= target {
            requestedWakeup = nil
            nowMilliseconds = max(nowMilliseconds, wakeup)
            engine?.fireTimers()
        }
        nowMilliseconds = target
    }
}
