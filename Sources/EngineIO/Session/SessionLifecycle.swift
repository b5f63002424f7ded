/// An Engine.IO session's lifecycle as a pure state machine: open, upgrading (a second transport is being
/// probed), closing (waiting for a polling client to collect its last packets), closed; and what each
/// packet, upgrade request, transport end, close request and deadline does in each state.
///
/// Like ``Heartbeat`` it only decides: each event returns one ``Action`` and the session does the I/O.
/// It holds no transport, queue or clock; the session tells it which transport an event came from and
/// the one fact about its queue a decision needs, so every transition can be walked in a unit test.
public struct SessionLifecycle: Sendable, Equatable {
    /// Where the session stands.
    public enum State: Sendable, Equatable {
        case open
        /// A second transport is being probed (`2probe` / `3probe` / `5`); only in this state is there one.
        case upgrading
        /// Closing once the queued packets have reached the client (a polling client's next GET).
        case closing
        case closed
    }

    /// Which of the session's transports an event concerns.
    public enum Source: Sendable, Equatable, CaseIterable {
        /// The transport that carries the session now.
        case current
        /// The transport being probed for an upgrade.
        case probe
        /// Neither: one the session has let go of (events from it change nothing).
        case other
    }

    /// What happened.
    public enum Event: Sendable, Equatable {
        /// A packet from the client; `isProbe` when its payload is `probe`.
        case packet(EnginePacketType, from: Source, isProbe: Bool)
        /// A new transport asks to take the session over; `listed` when the current one lists it in its upgrades.
        case upgradeRequested(listed: Bool)
        /// A transport ended on its own (socket closed, request dropped, bad input).
        case transportEnded(from: Source, reason: DisconnectReason)
        /// The server (or a client's close packet, through ``Action/beginClose(_:)``) ends the session.
        /// `packetsWaitForClient`: packets are queued and the transport cannot take them now.
        case closeRequested(DisconnectReason, packetsWaitForClient: Bool)
        /// The queue has just been emptied into the transport.
        case queueDrained
        /// The session's timer fired; `closeDeadlinePassed` when a closing session has waited long enough.
        case deadline(closeDeadlinePassed: Bool)
        /// A transport's outbound queue would pass `--max-buffered`.
        case outboundLimitReached(from: Source)
        /// Another node holds a new connection for the session and asks for it (``NodeLink``).
        case moveRequested
    }

    /// How to end the session.
    public struct Finish: Sendable, Equatable {
        public var reason: DisconnectReason
        /// Close the probe first (it is still open).
        public var abandonProbe: Bool
        /// Hand queued packets to the transport first, where it can take them (whatever is left is dropped).
        public var flush: Bool
        /// Close the current transport (false when it has already ended).
        public var closeTransport: Bool
    }

    /// What the session must do.
    public enum Action: Sendable, Equatable {
        case none
        /// Hand the message to the layer above.
        case deliverMessage
        /// Hand the pong to the heartbeat.
        case pong
        /// v3: the client pinged; answer with a pong and hand the ping to the heartbeat.
        case answerPing
        /// The client said goodbye: close for this reason (ask again with ``Event/closeRequested(_:packetsWaitForClient:)``).
        case beginClose(DisconnectReason)
        /// A packet a client never sends on an open transport: log it, then close with "parse error".
        case rejectPacket
        /// Adopt the new transport as the probe.
        case startProbe
        /// Close the new transport: the session cannot move to it now.
        case refuseUpgrade
        /// Answer `3probe` on the probe, and release the old transport's held poll with a noop.
        case answerProbe
        /// The probe becomes the transport; the old one is let go.
        case completeUpgrade
        /// Close the probe and stay on the current transport (it broke the protocol, or its client is not reading).
        case abandonProbe
        /// The probe ended by itself: forget it and stay on the current transport.
        case forgetProbe
        /// Wait for the client to collect its packets, at most until a deadline; close the probe first if `abandonProbe`.
        case waitForCollection(abandonProbe: Bool)
        /// End the session.
        case finish(Finish)
        /// Not closing: let the heartbeat look at its deadline.
        case runHeartbeat
        /// Let go of the session for another node: it ends here without a close (it lives on there).
        case moveOut
        /// The session cannot move now (it is upgrading or closing here).
        case refuseMove
    }

    public private(set) var state: State = .open
    /// During an upgrade, once the probe was answered: the old transport owes the client a noop, so its
    /// held poll returns and it can pause polling and send the upgrade packet.
    public private(set) var owesNoop = false

    /// v3: the client pings and the server answers (a ping is no protocol error then).
    public let clientPings: Bool

    /// - Parameter clientPings: whether the client pings (Engine.IO 3); default false.
    public init(clientPings: Bool = false) {
        self.clientPings = clientPings
    }

    /// Whether packets may still be queued for the client.
    @inlinable public var isSending: Bool { state == .open || state == .upgrading }

    /// Applies `event` and says what to do.
    public mutating func handle(_ event: Event) -> Action {
        switch event {
        case .packet(let type, let source, let isProbe):
            return packet(type, from: source, isProbe: isProbe)
        case .upgradeRequested(let listed):
            guard state == .open, listed else { return .refuseUpgrade }
            state = .upgrading
            return .startProbe
        case .transportEnded(let source, let reason):
            return transportEnded(from: source, reason: reason)
        case .closeRequested(let reason, let packetsWaitForClient):
            guard isSending else { return .none }
            let abandonProbe = state == .upgrading
            owesNoop = false
            if packetsWaitForClient, reason == .forcedClose {
                state = .closing
                return .waitForCollection(abandonProbe: abandonProbe)
            }
            state = .closed
            return .finish(Finish(reason: reason, abandonProbe: abandonProbe, flush: true, closeTransport: true))
        case .queueDrained:
            guard state == .closing else { return .none }
            state = .closed
            return .finish(Finish(reason: .forcedClose, abandonProbe: false, flush: false, closeTransport: true))
        case .deadline(let closeDeadlinePassed):
            switch state {
            case .open, .upgrading: return .runHeartbeat
            case .closed: return .none
            case .closing:
                guard closeDeadlinePassed else { return .none }
                state = .closed
                return .finish(Finish(reason: .forcedClose, abandonProbe: false, flush: false, closeTransport: true))
            }
        case .moveRequested:
            // Only a settled session moves: one being probed or closing has a second party to keep in step.
            guard state == .open else { return .refuseMove }
            state = .closed
            owesNoop = false
            return .moveOut
        case .outboundLimitReached(let source):
            switch source {
            case .probe:
                return leaveProbe(.abandonProbe)
            case .current:
                guard state != .closed else { return .none }
                state = .closed
                owesNoop = false
                return .finish(Finish(reason: .transportError, abandonProbe: false, flush: false, closeTransport: true))
            case .other:
                return .none
            }
        }
    }

    private mutating func packet(_ type: EnginePacketType, from source: Source, isProbe: Bool) -> Action {
        switch source {
        case .other:
            return .none
        case .probe:
            guard state == .upgrading else { return .none }
            switch type {
            case .ping where isProbe:
                owesNoop = true
                return .answerProbe
            case .upgrade:
                state = .open
                owesNoop = false
                return .completeUpgrade
            default:
                return leaveProbe(.abandonProbe)
            }
        case .current:
            guard state != .closed else { return .none }
            switch type {
            case .message: return .deliverMessage
            case .pong: return .pong
            case .ping where clientPings: return .answerPing
            case .close: return .beginClose(.transportClose)
            case .noop: return .none
            case .open, .ping, .upgrade: return .rejectPacket
            }
        }
    }

    private mutating func transportEnded(from source: Source, reason: DisconnectReason) -> Action {
        switch source {
        case .probe:
            return leaveProbe(.forgetProbe)
        case .current:
            guard state != .closed else { return .none }
            state = .closed
            owesNoop = false
            return .finish(Finish(reason: reason, abandonProbe: false, flush: false, closeTransport: false))
        case .other:
            return .none
        }
    }

    /// The probe goes (closed by us, or by itself); the session stays on its transport.
    private mutating func leaveProbe(_ action: Action) -> Action {
        guard state == .upgrading else { return .none }
        state = .open
        owesNoop = false
        return action
    }
}
