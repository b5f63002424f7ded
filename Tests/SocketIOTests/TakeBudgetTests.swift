import Testing

@testable import SocketIO

/// The per-address budget of recovery-store takes.
@Suite struct TakeBudgetTests {
    /// `count` spends of `address` at `now`, in order.
    private func spends(_ budget: inout TakeBudget, _ address: String, _ count: Int, now: Int64) -> [Bool] {
        (0..<count).map { _ in budget.spend(address, now: now) }
    }

    @Test func anAddressSpendsItsBurstThenGetsItsRateBack() {
        var budget = TakeBudget(burst: 3, perSecond: 2)
        let first = spends(&budget, "a", 4, now: 0)
        let other = spends(&budget, "b", 1, now: 0)  // its own bucket
        let early = spends(&budget, "a", 1, now: 499)
        let onTime = spends(&budget, "a", 2, now: 500)  // 2 a second: one per 500 ms
        // Long idle refills to the burst, never past it (and never overflows).
        let idle = spends(&budget, "a", 4, now: .max / 2)
        #expect(first == [true, true, true, false] && other == [true] && early == [false] && onTime == [true, false])
        #expect(idle == [true, true, true, false])
    }

    @Test func aTakeThatFoundItsSessionGivesItsTokenBack() {
        var budget = TakeBudget(burst: 2, perSecond: 1)
        var found: [Bool] = []
        for _ in 0..<10 {
            found += spends(&budget, "proxy", 1, now: 0)
            budget.refund("proxy", now: 0)
        }
        let spent = spends(&budget, "proxy", 3, now: 0)
        for _ in 0..<3 { budget.refund("proxy", now: 0) }  // never past the burst
        let again = spends(&budget, "proxy", 3, now: 0)
        #expect(found == Array(repeating: true, count: 10) && spent == [true, true, false] && again == [true, true, false])
    }

    @Test func theTableOfAddressesIsBounded() {
        var budget = TakeBudget(burst: 2, perSecond: 1, maxAddresses: 100)
        for index in 0..<10_000 { _ = budget.spend("10.0.\(index / 256).\(index % 256)", now: 0) }
        #expect(budget.count <= 100)
        // Buckets that filled up again go first, before any that still drains.
        var refilled = TakeBudget(burst: 2, perSecond: 1, maxAddresses: 100)
        for index in 0..<99 { _ = refilled.spend("old \(index)", now: 0) }
        _ = spends(&refilled, "draining", 2, now: 9_000)
        _ = refilled.spend("new", now: 10_000)  // the old ones are full again at 2 s: they go
        let count = refilled.count
        let draining = spends(&refilled, "draining", 2, now: 10_000)  // kept: one back in that second
        #expect(count == 2 && draining == [true, false])
    }

    @Test func refusalsAreLoggedOncePerIntervalWithTheirCount() {
        var budget = TakeBudget()
        let lines = [0, 1, 9_999, 10_000, 10_001].map { budget.noteRefusal(now: $0) }
        #expect(lines == [1, nil, nil, 3, nil])
    }
}
