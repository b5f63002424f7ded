/// A one-shot timer on the engine's clock, for work that belongs to a session but is not its heartbeat
/// (Socket.IO's connectTimeout, the grace period of a polling client that said goodbye).
///
/// Created by ``EngineServer/schedule(after:_:)``; fires once on the service thread unless cancelled.
/// Timers share the engine's single clock wake-up, so they cost a heap entry each, not an lws timer.
public final class EngineTimer {
    /// When it fires, in the engine clock's milliseconds.
    public let deadline: Int64
    /// What runs; nil once fired or cancelled.
    private var action: (() -> Void)?
    private weak var server: EngineServer?

    init(deadline: Int64, server: EngineServer, action: @escaping () -> Void) {
        self.deadline = deadline
        self.server = server
        self.action = action
    }

    /// Whether the timer will still fire.
    public var isPending: Bool { action != nil }

    /// Stops the timer from firing; harmless after it fired or was cancelled.
    public func cancel() {
        guard action != nil else { return }
        action = nil
        server?.timerCancelled()
    }

    /// Runs the action once (called by the engine when the deadline has come).
    func fire() {
        guard let action else { return }
        self.action = nil
        action()
    }
}
