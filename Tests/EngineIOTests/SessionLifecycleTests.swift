import Testing

@testable import EngineIO

/// Every transition of ``SessionLifecycle``: each event in each state, the unreachable ones included
/// (events from a probe when there is none, anything after the end), with the action and the next state.
@Suite struct SessionLifecycleTests {
    typealias Event = SessionLifecycle.Event
    typealias Action = SessionLifecycle.Action
    typealias Finish = SessionLifecycle.Finish

    /// The five situations a session can be in (upgrading before and after the probe was answered).
    enum Start: CaseIterable {
        case open, probing, probeAnswered, closing, closed

        var machine: SessionLifecycle {
            var machine = SessionLifecycle()
            switch self {
            case .open: break
            case .probing: _ = machine.handle(.upgradeRequested(listed: true))
            case .probeAnswered:
                _ = machine.handle(.upgradeRequested(listed: true))
                _ = machine.handle(.packet(.ping, from: .probe, isProbe: true))
            case .closing: _ = machine.handle(.closeRequested(.forcedClose, packetsWaitForClient: true))
            case .closed: _ = machine.handle(.closeRequested(.forcedClose, packetsWaitForClient: false))
            }
            return machine
        }
    }

    /// Every event the machine takes, each packet type from each source.
    static let allEvents: [Event] = {
        var events: [Event] = []
        let types: [EnginePacketType] = [.open, .close, .ping, .pong, .message, .upgrade, .noop]
        for source in SessionLifecycle.Source.allCases {
            for type in types { events.append(.packet(type, from: source, isProbe: false)) }
            events.append(.packet(.ping, from: source, isProbe: true))
            events.append(.transportEnded(from: source, reason: .transportClose))
            events.append(.outboundLimitReached(from: source))
        }
        events += [
            .upgradeRequested(listed: true), .upgradeRequested(listed: false),
            .closeRequested(.forcedClose, packetsWaitForClient: true), .closeRequested(.forcedClose, packetsWaitForClient: false),
            .closeRequested(.serverShutdown, packetsWaitForClient: true), .closeRequested(.pingTimeout, packetsWaitForClient: false),
            .queueDrained, .deadline(closeDeadlinePassed: false), .deadline(closeDeadlinePassed: true), .moveRequested,
        ]
        return events
    }()

    static func finish(_ reason: DisconnectReason, abandonProbe: Bool = false, flush: Bool = false, closeTransport: Bool = true) -> Action {
        .finish(Finish(reason: reason, abandonProbe: abandonProbe, flush: flush, closeTransport: closeTransport))
    }

    /// What each event does from `start`: the action, the state after, and whether a noop is owed after.
    static func expected(_ event: Event, from start: Start) -> (Action, SessionLifecycle.State, owesNoop: Bool) {
        let state = start.machine.state
        let owes = start == .probeAnswered
        let unchanged = (Action.none, state, owes)
        if case .upgradeRequested(let listed) = event {
            // A new transport is always answered: taken as the probe, or closed.
            return start == .open && listed ? (.startProbe, .upgrading, false) : (.refuseUpgrade, state, owes)
        }
        if case .moveRequested = event {
            // Only a settled session moves to another node; it ends here without a close.
            return start == .open ? (.moveOut, .closed, false) : (.refuseMove, state, owes)
        }
        if start == .closed { return unchanged }  // after the end, nothing else does anything
        let upgrading = start == .probing || start == .probeAnswered
        switch event {
        case .packet(_, from: .other, _), .transportEnded(from: .other, _), .outboundLimitReached(from: .other):
            return unchanged
        case .packet(let type, from: .current, _):
            switch type {
            case .message: return (.deliverMessage, state, owes)
            case .pong: return (.pong, state, owes)
            case .close: return (.beginClose(.transportClose), state, owes)
            case .noop: return unchanged
            case .open, .ping, .upgrade: return (.rejectPacket, state, owes)
            }
        case .packet(let type, from: .probe, let isProbe):
            guard upgrading else { return unchanged }  // unreachable: no probe outside an upgrade
            if type == .ping && isProbe { return (.answerProbe, .upgrading, true) }
            if type == .upgrade { return (.completeUpgrade, .open, false) }
            return (.abandonProbe, .open, false)
        case .transportEnded(from: .probe, _):
            return upgrading ? (.forgetProbe, .open, false) : unchanged
        case .outboundLimitReached(from: .probe):
            return upgrading ? (.abandonProbe, .open, false) : unchanged
        case .transportEnded(from: .current, let reason):
            return (finish(reason, closeTransport: false), .closed, false)
        case .outboundLimitReached(from: .current):
            return (finish(.transportError), .closed, false)
        case .upgradeRequested, .moveRequested:
            return unchanged  // answered above
        case .closeRequested(let reason, let packetsWait):
            guard start != .closing else { return unchanged }
            if packetsWait && reason == .forcedClose { return (.waitForCollection(abandonProbe: upgrading), .closing, false) }
            return (finish(reason, abandonProbe: upgrading, flush: true), .closed, false)
        case .queueDrained:
            return start == .closing ? (finish(.forcedClose), .closed, false) : unchanged
        case .deadline(let passed):
            if start != .closing { return (.runHeartbeat, state, owes) }
            return passed ? (finish(.forcedClose), .closed, false) : unchanged
        }
    }

    @Test(arguments: Start.allCases)
    func everyEventFrom(_ start: Start) {
        for event in Self.allEvents {
            var machine = start.machine
            let action = machine.handle(event)
            let (wantAction, wantState, wantOwes) = Self.expected(event, from: start)
            #expect(action == wantAction, "\(start) + \(event)")
            #expect(machine.state == wantState, "\(start) + \(event)")
            #expect(machine.owesNoop == wantOwes, "\(start) + \(event)")
        }
    }

    /// The starting points themselves, so the table above starts where it says.
    @Test func theStartsAreTheStatesTheyName() {
        #expect(Start.open.machine.state == .open)
        #expect(Start.probing.machine.state == .upgrading && !Start.probing.machine.owesNoop)
        #expect(Start.probeAnswered.machine.state == .upgrading && Start.probeAnswered.machine.owesNoop)
        #expect(Start.closing.machine.state == .closing)
        #expect(Start.closed.machine.state == .closed)
    }

    /// A few of the rows spelled out, in case the table's rule and the machine share a mistake.
    @Test func theUsualPathsSpelledOut() {
        var machine = SessionLifecycle()
        #expect(machine.isSending)
        #expect(machine.handle(.packet(.message, from: .current, isProbe: false)) == .deliverMessage)
        #expect(machine.handle(.upgradeRequested(listed: true)) == .startProbe)
        #expect(machine.handle(.upgradeRequested(listed: true)) == .refuseUpgrade)  // one probe at a time
        #expect(machine.handle(.packet(.ping, from: .probe, isProbe: true)) == .answerProbe)
        #expect(machine.owesNoop)
        #expect(machine.handle(.packet(.upgrade, from: .probe, isProbe: false)) == .completeUpgrade)
        #expect(machine.state == .open && !machine.owesNoop)
        #expect(machine.handle(.closeRequested(.forcedClose, packetsWaitForClient: true)) == .waitForCollection(abandonProbe: false))
        #expect(!machine.isSending)
        #expect(machine.handle(.packet(.message, from: .current, isProbe: false)) == .deliverMessage)  // still read while closing
        #expect(machine.handle(.deadline(closeDeadlinePassed: false)) == .none)
        #expect(machine.handle(.queueDrained) == Self.finish(.forcedClose))
        #expect(machine.state == .closed)
        #expect(machine.handle(.closeRequested(.forcedClose, packetsWaitForClient: false)) == .none)  // closes once
    }

    @Test func aClientGoodbyeClosesAtOnceEvenWithPacketsWaiting() {
        var machine = SessionLifecycle()
        #expect(machine.handle(.packet(.close, from: .current, isProbe: false)) == .beginClose(.transportClose))
        #expect(machine.handle(.closeRequested(.transportClose, packetsWaitForClient: true)) == Self.finish(.transportClose, flush: true))
    }

    @Test func closingMidUpgradeAbandonsTheProbe() {
        var machine = Start.probeAnswered.machine
        #expect(machine.handle(.closeRequested(.pingTimeout, packetsWaitForClient: false))
            == Self.finish(.pingTimeout, abandonProbe: true, flush: true))
        #expect(!machine.owesNoop)
    }
}
