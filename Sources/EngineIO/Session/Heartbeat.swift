/// The server side of Engine.IO's heartbeat, as a pure state machine. v4: the server pings every
/// pingInterval, and a client that has not answered pingTimeout after a ping is gone. v3 (client-ping
/// mode): the client pings every pingInterval and the server answers, and a client whose next ping has not
/// come pingInterval + pingTimeout after the last is gone.
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
        /// v3: the client's next ping is due by the deadline.
        case awaitingClientPing
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

    /// Starts the heartbeat at session open: the first ping goes out one interval later; with
    /// `clientPings` (v3), the client's first ping is due one interval and one timeout later.
    public init(interval: Int64, timeout: Int64, now: Int64, clientPings: Bool = false) {
        self.interval = interval
        self.timeout = timeout
        if clientPings {
            phase = .awaitingClientPing
            deadline = now + interval + timeout
        } else {
            deadline = now + interval
        }
    }

    /// v3: a ping from the client arrived (the session answers it with a pong); the next is due one
    /// interval and one timeout from now. Returns whether the deadline moved (not in v4 mode).
    public mutating func clientPingReceived(now: Int64) -> Bool {
        guard phase == .awaitingClientPing else { return false }
        deadline = now + interval + timeout
        return true
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
        case .awaitingPong, .awaitingClientPing:
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
        case .awaitingPong, .awaitingClientPing: now >= deadline
        case .waitingToPing: now >= deadline + timeout
        }
    }
}
