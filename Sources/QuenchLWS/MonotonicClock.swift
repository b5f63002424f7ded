#if canImport(Glibc)
import Glibc
#endif
import EngineIO

/// An engine clock on CLOCK_MONOTONIC with wake-ups from one lws timer: the whole engine's
/// heartbeats cost one timer however many sessions there are.
final class MonotonicClock: EngineClock {
    private var timer: LWSTimer?

    /// Wires the clock to the engine it wakes. Service thread.
    func attach(context: OpaquePointer, onWake: @escaping () -> Void) {
        timer = LWSTimer(context: context, action: onWake)
    }

    func detach() {
        timer?.cancel()
        timer = nil
    }

    var nowMilliseconds: Int64 { MonotonicClock.milliseconds() }

    func requestWakeup(at deadline: Int64) {
        timer?.schedule(inMicroseconds: (deadline - nowMilliseconds) * 1000)
    }

    static func milliseconds() -> Int64 { MonotonicMilliseconds.now() }
}
