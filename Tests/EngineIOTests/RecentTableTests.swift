import Testing

@testable import EngineIO

/// The fixed-size table that forgets its least recently used entry.
@Suite struct RecentTableTests {
    @Test func aFullTableEvictsTheLeastRecentlyUsedEntry() {
        var table = RecentTable<Int>(capacity: 3)
        for key in ["a", "b", "c"] { #expect(table.use(key, default: { 0 }, { $0 += 1 }).evicted == nil) }
        _ = table.use("a", default: { 0 }, { $0 += 1 })  // a is used again: b is now the oldest
        let evicted = table.use("d", default: { 10 }, { $0 })
        #expect(evicted.result == 10 && evicted.evicted?.key == "b" && evicted.evicted?.value == 1)
        #expect(table.count == 3 && table.keysByAge == ["c", "a", "d"] && table.peek("a") == 2 && table.peek("b") == nil)
    }

    @Test func modifyingDoesNotCountAsAUse() {
        var table = RecentTable<Int>(capacity: 2)
        _ = table.use("a", default: { 0 }, { _ in })
        _ = table.use("b", default: { 0 }, { _ in })
        table.modify("a") { $0 = 7 }
        table.modify("missing") { $0 = 7 }
        #expect(table.keysByAge == ["a", "b"] && table.peek("a") == 7 && table.count == 2)
        #expect(table.use("c", default: { 0 }, { _ in }).evicted?.key == "a")
    }

    @Test func manyKeysNeverGrowItPastItsCapacity() {
        var table = RecentTable<Int>(capacity: 100)
        var evictions = 0
        for index in 0..<10_000 {
            if table.use("k\(index % 1000)", default: { index }, { _ in }).evicted != nil { evictions += 1 }
        }
        #expect(table.count == 100 && evictions == 10_000 - 100)
        #expect(table.keysByAge == (900..<1000).map { "k\($0)" })
        var one = RecentTable<String>(capacity: 1)
        _ = one.use("x", default: { "x" }, { _ in })
        #expect(one.use("x", default: { "?" }, { $0 }).result == "x" && one.use("y", default: { "y" }, { _ in }).evicted?.key == "x")
    }
}
