import Testing

@testable import EngineIO

@Suite struct HeartbeatTests {
    @Test func pingsAfterIntervalThenTimesOutWithoutPong() {
        var heartbeat = Heartbeat(interval: 300, timeout: 200, now: 0)
        #expect(heartbeat.deadline == 300)
        var action = heartbeat.deadlineReached(now: 299)
        #expect(action == .none)
        action = heartbeat.deadlineReached(now: 300)
        #expect(action == .sendPing)
        #expect(heartbeat.phase == .awaitingPong)
        #expect(heartbeat.deadline == 500)
        #expect(!heartbeat.isExpired(now: 499))
        #expect(heartbeat.isExpired(now: 500))
        action = heartbeat.deadlineReached(now: 500)
        #expect(action == .timeOut)
    }

    @Test func pongSchedulesTheNextPingFromItsArrival() {
        var heartbeat = Heartbeat(interval: 300, timeout: 200, now: 0)
        _ = heartbeat.deadlineReached(now: 300)
        let moved = heartbeat.pongReceived(now: 350)
        #expect(moved)
        #expect(heartbeat.phase == .waitingToPing)
        #expect(heartbeat.deadline == 650)
        // The next ping is due at 650, its pong at 850: not expired before that, even with no timer run.
        #expect(!heartbeat.isExpired(now: 849))
        #expect(heartbeat.isExpired(now: 850))
    }

    @Test func aPongToAPingStillQueuedChangesNothing() {
        var heartbeat = Heartbeat(interval: 300, timeout: 200, now: 0)
        _ = heartbeat.deadlineReached(now: 300)
        let early = heartbeat.pongReceived(now: 350, pingHasLeft: false)
        #expect(!early)
        #expect(heartbeat.phase == .awaitingPong)
        #expect(heartbeat.deadlineReached(now: 500) == .timeOut)
    }

    @Test func pongDeadlineCountsFromWhenThePingWasDueNotWhenTheTimerRan() {
        var heartbeat = Heartbeat(interval: 300, timeout: 200, now: 0)
        #expect(heartbeat.deadlineReached(now: 307) == .sendPing)
        #expect(heartbeat.deadline == 500)
        #expect(heartbeat.deadlineReached(now: 499) == .none)
        #expect(heartbeat.deadlineReached(now: 500) == .timeOut)
    }

    @Test func aVeryLateTimerStillLeavesHalfTheTimeout() {
        var heartbeat = Heartbeat(interval: 300, timeout: 200, now: 0)
        #expect(heartbeat.deadlineReached(now: 650) == .sendPing)
        #expect(heartbeat.deadline == 750)
        #expect(!heartbeat.isExpired(now: 749))
    }

    @Test func expiryDoesNotWaitForThePingTimer() {
        let heartbeat = Heartbeat(interval: 300, timeout: 200, now: 0)
        #expect(heartbeat.phase == .waitingToPing)
        #expect(!heartbeat.isExpired(now: 499))
        #expect(heartbeat.isExpired(now: 500))
    }

    @Test func unsolicitedPongChangesNothing() {
        var heartbeat = Heartbeat(interval: 300, timeout: 200, now: 0)
        let moved = heartbeat.pongReceived(now: 100)
        #expect(!moved)
        #expect(heartbeat.deadline == 300)
    }
}
