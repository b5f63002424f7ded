import EngineIOTesting
import Testing

@testable import EngineIO

/// The token bucket and the per-client budget's decisions, driven by hand-moved milliseconds.
@Suite struct ClientBudgetTests {
    @Test func aBucketSpendsItsBurstThenGetsTheRateBack() {
        var bucket = TokenBucket(perSecond: 4, burst: 3, now: 0)
        let burst = (0..<4).map { _ in bucket.take(now: 0) }
        let early = bucket.take(now: 249)
        let onTime = bucket.take(now: 250)  // four a second: one per 250 ms
        let idle = (0..<4).map { _ in bucket.take(now: .max / 2) }  // a long idle refills to the burst, no further
        #expect(burst == [true, true, true, false] && !early && onTime && idle == [true, true, true, false])
    }

    @Test func timeGoingBackwardsGivesNothing() {
        var bucket = TokenBucket(perSecond: 1000, burst: 1, now: 1000)
        let results = [bucket.take(now: 1000), bucket.take(now: 0)]
        let left = [bucket.available(now: 1000), bucket.available(now: 1001)]
        #expect(results == [true, false] && left == [0, 1])
    }

    private func budget(rate: Int = 10, burst: Int = 2, after: Int64 = 3000) -> ClientBudget {
        ClientBudget(BudgetLimit(perSecond: rate, burst: burst), disconnectAfter: after, now: 0)
    }

    @Test func refusalsAreNoticedAtMostOnceASecondWithTheirCount() {
        var budget = budget(rate: 1, burst: 2)
        let decisions = [0, 0, 0, 1, 2, 999, 1000, 1001].map { budget.spend(now: $0) }
        #expect(
            decisions == [
                .admit, .admit, .refuse(notice: 1, startsEpisode: true), .refuse(notice: nil, startsEpisode: false),
                .refuse(notice: nil, startsEpisode: false), .refuse(notice: nil, startsEpisode: false),
                .admit,  // a token came back: the episode goes on
                .refuse(notice: 4, startsEpisode: false),
            ])
        #expect(budget.isOver(now: 1001) && !budget.isOver(now: 2002))
    }

    /// Spends twice every 100 ms from `start` until the budget says disconnect; when it did (nil by `end`).
    private func flood(_ budget: inout ClientBudget, from start: Int64, until end: Int64) -> Int64? {
        for now in stride(from: start, through: end, by: 100) {
            for _ in 0..<2 {
                if case .disconnect = budget.spend(now: now) { return now }
            }
        }
        return nil
    }

    @Test func aClientOverBudgetWithoutAPauseIsDisconnected() {
        // Twenty a second against a rate of ten: tokens come back now and then, which does not end the episode.
        var budget = budget(rate: 10, burst: 2, after: 3000)
        // The burst covers the first 100 ms; the first refusal, at 100, starts the clock.
        #expect(flood(&budget, from: 0, until: 10_000) == 3100)
    }

    @Test func aPauseLongerThanTheQuietGapStartsAnewEpisode() {
        var budget = budget(rate: 10, burst: 2, after: 3000)
        let first = flood(&budget, from: 0, until: 2900)
        // 1.1 s of quiet, then the flood again: its clock starts at its first refusal, 4100.
        let second = flood(&budget, from: 4000, until: 10_000)
        #expect(first == nil && second == 7100)
    }

    @Test func aPersonTypingNeverReachesTheDefaults() {
        // Ten lines a second for a minute, after a reconnect replaying 150 buffered lines at once.
        let defaults = ClientBudgetConfiguration()
        var events = defaults.budget(.events, now: 0)
        var refused = 0
        for _ in 0..<150 where events.spend(now: 0) != .admit { refused += 1 }
        for now in stride(from: Int64(100), through: 60_000, by: 100) where events.spend(now: now) != .admit { refused += 1 }
        #expect(refused == 0)
    }

    @Test func countersCountByCause() {
        let counters = BudgetCounters()
        counters.countRefusal(.events)
        counters.countRefusal(.events)
        counters.countDisconnect(.pings)
        #expect(counters.refused == [.events: 2] && counters.disconnects == [.pings: 1])
    }
}
