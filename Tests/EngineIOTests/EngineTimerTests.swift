import EngineIOTesting
import Testing

@testable import EngineIO

@Suite struct EngineTimerTests {
    @Test func firesAtItsDeadlineAndOnlyOnce() {
        let harness = Harness()
        var fired = 0
        let timer = harness.engine.schedule(after: 1000) { fired += 1 }
        #expect(timer.isPending)
        harness.clock.advance(by: 999)
        #expect(fired == 0)
        harness.clock.advance(by: 1)
        #expect(fired == 1)
        #expect(!timer.isPending)
        harness.clock.advance(by: 5000)
        #expect(fired == 1)
    }

    @Test func cancelledTimerNeverFires() {
        let harness = Harness()
        var fired = false
        let timer = harness.engine.schedule(after: 50) { fired = true }
        timer.cancel()
        timer.cancel()
        harness.clock.advance(by: 100)
        #expect(!fired)
    }

    @Test func anEarlierTimerMovesTheClockWakeupForward() {
        let harness = Harness()
        _ = harness.engine.connectInMemory()  // heartbeat wants a wake-up at +300
        let start = harness.clock.nowMilliseconds
        #expect(harness.clock.requestedWakeup == start + 300)
        harness.engine.schedule(after: 10) {}
        #expect(harness.clock.requestedWakeup == start + 10)
    }

    @Test func timersAndHeartbeatsFireInOneWakeup() {
        let harness = Harness()
        let socket = harness.engine.connectInMemory()
        _ = socket.takeFrames()
        var order: [String] = []
        harness.engine.schedule(after: 300) { order.append("timer") }
        harness.clock.advance(by: 300)
        #expect(socket.takeFrames() == ["2"])
        #expect(order == ["timer"])
    }

    @Test func zeroDelayRunsOnTheNextWakeupNotInline() {
        let harness = Harness()
        var fired = false
        harness.engine.schedule(after: 0) { fired = true }
        #expect(!fired)
        harness.clock.advance(by: 0)
        #expect(fired)
    }

    @Test func cancelledTimersAreSweptSoTheHeapStaysSmall() {
        let harness = Harness()
        for _ in 0..<10_000 {
            harness.engine.schedule(after: 45_000) {}.cancel()
        }
        #expect(harness.engine.timerHeapCount < 200)
        var fired = false
        harness.engine.schedule(after: 45_000) { fired = true }
        harness.clock.advance(by: 45_000)
        #expect(fired)
    }

    @Test func anEngineGoneWithATimerPendingLetsGoOfItsAction() {
        // The shape of a Socket.IO client and its connectTimeout: the action holds what holds the timer.
        final class Holder { var timer: EngineTimer? }
        weak var released: Holder?
        do {
            let harness = Harness()
            let holder = Holder()
            holder.timer = harness.engine.schedule(after: 45_000) { [holder] in _ = holder }
            released = holder
        }
        #expect(released == nil)
    }

    @Test func timersGiveTheirEngineNoSideTable() {
        // No ManualClock.engine: that weak reference would give the engine a side table of its own.
        let engine = EngineServer(configuration: EngineConfiguration(), clock: ManualClock(), log: Logger(level: .error) { _ in })
        engine.schedule(after: 10) {}.cancel()
        engine.schedule(after: 10) {}
        #expect(!hasSideTable(engine))
        let probe = EngineServer(configuration: EngineConfiguration(), clock: ManualClock(), log: Logger(level: .error) { _ in })
        weak let weakProbe = probe
        #expect(weakProbe != nil)
        #expect(hasSideTable(probe))  // the check itself still reads the runtime's layout right
    }

    @Test func sweptHeapStillPopsInDeadlineOrder() {
        var heap = DeadlineHeap<Int>()
        for value in [50, 10, 40, 20, 30, 60, 5] { heap.insert(value, deadline: Int64(value), stamp: 0) }
        heap.removeAll { $0.element % 20 == 0 }
        var popped: [Int] = []
        while let entry = heap.popDue(now: 100) { popped.append(entry.element) }
        #expect(popped == [5, 10, 30, 50])
    }
}

/// Whether the Swift runtime gave `object` a side table (it does at the first weak reference to it). The
/// object's refcount word then holds the table's address shifted right by three, under its two top bits
/// (UseSlowRC, SideTableMark in the runtime's RefCount.h), so the address is nowhere LeakSanitizer looks
/// once no weak reference is left: an object that lives until exit reports its table as leaked.
private func hasSideTable(_ object: AnyObject) -> Bool {
    let word = Unmanaged.passUnretained(object).toOpaque().load(fromByteOffset: MemoryLayout<UnsafeRawPointer>.size, as: UInt64.self)
    return word >> 62 == 0b11
}
