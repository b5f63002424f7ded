/// The server side of Engine.IO v4's heartbeat, as a pure state machine: the server pings every
/// pingInterval, and a client that has not answered pingTimeout after a ping is gone.
///
/// It only says what to do and when; the session does it. Time comes in as an argument, so tests drive
/// it without a clock.
public struct Heartbeat: Sendable, Equatable {
    /// Where the exchange stands.
    public enum Phase: Sendable, Equatable {
        /// Waiting to send the next ping at the deadline.
        case waitingToPing
        /// A ping is out; the pong is due by the deadline.
        case awaitingPong
    }

    /// What the session must do at a deadline.
    public enum Action: Sendable, Equatable {
        /// Nothing yet (the deadline has not come, or it was moved).
        case none
        /// Send a ping now; the pong is due at the new deadline.
        case sendPing
        /// The client missed its pong: close the session with "ping timeout".
        case timeOut
    }

    public let interval: Int64
    public let timeout: Int64
    public private(set) var phase: Phase = .waitingToPing
    /// When the current phase ends, in the engine clock's milliseconds.
    public private(set) var deadline: Int64

    /// Starts the heartbeat at session open: the first ping goes out one interval later.
    public init(interval: Int64, timeout: Int64, now: Int64) {
        self.interval = interval
        self.timeout = timeout
        self.deadline = now + interval
    }

    /// Called when the deadline may have come.
    public mutating func deadlineReached(now: Int64) -> Action {
        guard now >= deadline else { return .none }
        switch phase {
        case .waitingToPing:
            // The pong is due one timeout after the ping was *due*, not after the timer happened to fire, so
            // the sid's expiry is the same instant whether a request or the timer looks first. A timer that
            // fires very late (a blocked thread) still leaves the client half a timeout to answer.
            phase = .awaitingPong
            deadline = max(deadline + timeout, now + timeout / 2)
            return .sendPing
        case .awaitingPong:
            return .timeOut
        }
    }

    /// A pong arrived. Returns whether the deadline moved (a pong nobody asked for changes nothing).
    /// - Parameter pingHasLeft: whether the ping has left the server's queue. A pong to a ping the client
    ///   cannot have read yet is no answer: a client that never reads but sends `3` blindly would otherwise
    ///   keep its session, and its backlog, alive for ever.
    public mutating func pongReceived(now: Int64, pingHasLeft: Bool = true) -> Bool {
        guard phase == .awaitingPong, pingHasLeft else { return false }
        phase = .waitingToPing
        deadline = now + interval
        return true
    }

    /// Whether the client is already past its pong deadline at `now`. Checked when a request arrives, so
    /// the answer does not depend on whether the timer has fired yet.
    /// A ping still waiting for its timer counts as sent at its deadline: the client is expired one
    /// timeout after that, even if the timer has not run yet.
    public func isExpired(now: Int64) -> Bool {
        switch phase {
        case .awaitingPong: now >= deadline
        case .waitingToPing: now >= deadline + timeout
        }
    }
}
