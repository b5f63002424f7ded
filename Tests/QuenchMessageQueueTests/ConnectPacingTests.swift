import Testing

@testable import QuenchMessageQueue

/// The schedule of connection attempts, driven with made-up times (no sleeping).
@Suite struct ConnectPacingTests {
    @Test func everyFailedAttemptDoublesTheWaitUpToTenSeconds() {
        var pacing = ConnectPacing()
        #expect(pacing.delay(at: 0) == 0)
        var now: Int64 = 0
        var delays: [Int64] = []
        for _ in 0..<7 {
            delays.append(pacing.attemptFailed(at: now))
            #expect(pacing.delay(at: now) == delays.last)
            now += delays.last!
            #expect(pacing.delay(at: now) == 0)
        }
        #expect(delays == [500, 1000, 2000, 4000, 8000, 10_000, 10_000])
    }

    @Test func aConnectionThatEndsSoonAfterItCameUpCountsAsAFailure() {
        var pacing = ConnectPacing()
        pacing.attemptFailed(at: 0)  // 500
        pacing.attemptFailed(at: 500)  // 1000
        pacing.attemptSucceeded(at: 1500)
        // Redis answered PING, then the connection broke 2 s later: the backoff goes on doubling.
        pacing.connectionEnded(at: 3500)
        #expect(pacing.delay(at: 3500) == 2000)
        // Ending twice (the owner noticed, then opened again) counts once.
        pacing.connectionEnded(at: 3500)
        #expect(pacing.delay(at: 3500) == 2000)
    }

    @Test func aConnectionThatStayedUpIsMadeAgainAtOnceAndTheBackoffStartsAfresh() {
        var pacing = ConnectPacing()
        for time in stride(from: Int64(0), to: 5, by: 1) { pacing.attemptFailed(at: time) }
        pacing.attemptSucceeded(at: 100_000)
        let ended = 100_000 + ConnectPacing.stableAfter
        pacing.connectionEnded(at: ended)
        #expect(pacing.delay(at: ended) == 0)
        #expect(pacing.attemptFailed(at: ended) == 500)
    }

    @Test func allowNowSkipsTheWaitButKeepsTheBackoffsPlace() {
        var pacing = ConnectPacing()
        pacing.attemptFailed(at: 0)
        pacing.attemptFailed(at: 500)
        pacing.allowNow()
        #expect(pacing.delay(at: 600) == 0)
        #expect(pacing.attemptFailed(at: 600) == 2000)
    }
}
