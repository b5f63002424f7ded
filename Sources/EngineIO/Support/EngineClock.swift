/// The engine's view of time: a monotonic clock and a way to be woken for a deadline.
///
/// The lws binding implements it with one lws timer; unit tests implement it with a hand-moved clock,
/// so no test sleeps.
public protocol EngineClock: AnyObject {
    /// Monotonic time in milliseconds (only differences mean anything).
    var nowMilliseconds: Int64 { get }
    /// Asks for ``EngineServer/fireTimers()`` to be called at, or soon after, `deadline`.
    /// A later request replaces an earlier one.
    func requestWakeup(at deadline: Int64)
}
