/// A one-shot timer on the engine's clock, for work that belongs to a session but is not its heartbeat
/// (Socket.IO's connectTimeout, the grace period of a polling client that said goodbye).
///
/// Created by ``EngineServer/schedule(after:_:)``; fires once on the service thread unless cancelled.
/// Timers share the engine's single clock wake-up, so they cost a heap entry each, not an lws timer.
///
/// It holds no reference to its engine, and the engine sweeps cancelled timers out when it schedules rather
/// than being told of each cancel. A weak reference gave the engine a side table, whose address the runtime
/// keeps in the engine's refcount word in a form LeakSanitizer does not read: the engine lives until exit,
/// and once its last timer was gone the check at exit reported the table as leaked.
public final class EngineTimer {
    /// When it fires, in the engine clock's milliseconds.
    public let deadline: Int64
    /// What runs; nil once fired or cancelled.
    private var action: (() -> Void)?

    init(deadline: Int64, action: @escaping () -> Void) {
        self.deadline = deadline
        self.action = action
    }

    /// Whether the timer will still fire.
    public var isPending: Bool { action != nil }

    /// Stops the timer from firing and lets go of its action; harmless after it fired or was cancelled.
    public func cancel() {
        action = nil
    }

    /// Runs the action once (called by the engine when the deadline has come).
    func fire() {
        guard let action else { return }
        self.action = nil
        action()
    }
}
