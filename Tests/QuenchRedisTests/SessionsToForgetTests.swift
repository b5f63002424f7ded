import Testing

@testable import QuenchRedis

/// The bounded list of dropped sessions the recovery store must delete once Redis answers again.
@Suite struct SessionsToForgetTests {
    @Test func pastTheBoundTheOldestGoAndTheEpisodeIsCountedOnce() {
        var list = SessionsToForget(limit: 3)
        let began = ["p1", "p2", "p3", "p1"].map { list.insert($0) }  // p1 twice: kept once
        #expect(began == [false, false, false, false] && list.count == 3)
        let dropping = ["p4", "p5"].map { list.insert($0) }  // p1, then p2 go; only the first begins an episode
        #expect(dropping == [true, false])
        #expect(list.oldest(10) == ["p3", "p4", "p5"] && list.droppedInEpisode == 2 && list.droppedTotal == 2)
        // Deleted in two rounds; the episode ends (with its count) when the list is empty.
        let first = list.remove(list.oldest(2))
        #expect(first == nil && list.oldest(10) == ["p5"])
        let last = list.remove(list.oldest(2))
        #expect(last == 2 && list.isEmpty && list.droppedInEpisode == 0)
        // A new episode begins with its own first drop.
        for pid in ["a", "b", "c"] { list.insert(pid) }
        #expect(list.insert("d") && list.droppedTotal == 3)
    }

    @Test func aPidRemovedAndInsertedAgainIsOneEntryInItsNewPlace() {
        var list = SessionsToForget(limit: 10)
        for pid in ["a", "b", "c"] { list.insert(pid) }
        _ = list.remove(["a"])
        list.insert("a")
        #expect(list.oldest(10) == ["b", "c", "a"] && list.count == 3)
        // Taken for a delete, then dropped at the bound before the delete came back: removing it is harmless.
        var small = SessionsToForget(limit: 2)
        small.insert("x")
        small.insert("y")
        let taken = small.oldest(2)
        small.insert("z")  // x goes
        _ = small.remove(taken)
        #expect(small.oldest(10) == ["z"] && small.count == 1)
    }

    /// A long run stays within the bound, in order, and its bookkeeping stays near the live count.
    @Test func aLongRunKeepsTheBoundAndTheOrder() {
        var list = SessionsToForget(limit: 1000)
        for index in 0..<100_000 { list.insert("p\(index)") }
        #expect(list.count == 1000 && list.droppedTotal == 99_000)
        #expect(list.oldest(3) == ["p99000", "p99001", "p99002"])
        while !list.isEmpty { _ = list.remove(list.oldest(300)) }
        #expect(list.oldest(1).isEmpty)
    }
}
