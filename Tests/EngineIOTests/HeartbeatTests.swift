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
        #expect(!heartbeat.isExpired(now: 10_000))
    }

    @Test func unsolicitedPongChangesNothing() {
        var heartbeat = Heartbeat(interval: 300, timeout: 200, now: 0)
        let moved = heartbeat.pongReceived(now: 100)
        #expect(!moved)
        #expect(heartbeat.deadline == 300)
    }
}
