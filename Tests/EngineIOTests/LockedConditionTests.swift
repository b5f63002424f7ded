#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchSystem
import Testing

@Suite struct LockedConditionTests {
    @Test func aTimedWaitWithoutASignalReturns() {
        let lock = LockedCondition()
        lock.withLock { lock.wait(milliseconds: 1) }
    }

    @Test func aSignalFromAnotherThreadWakesTheWaiter() {
        let lock = LockedCondition()
        let state = Box()
        BackgroundThread.start {
            lock.withLock {
                state.ready = true
                lock.signal()
            }
        }
        // Waits without a deadline: only the other thread's signal (through the heap-allocated pthread
        // objects they share) can end it.
        lock.withLock {
            while !state.ready { lock.wait(milliseconds: nil) }
        }
        #expect(lock.withLock { state.ready })
    }

    @Test func manyLocksComeAndGo() {
        for _ in 0..<1000 {
            let lock = LockedCondition()
            #expect(lock.withLock { 7 } == 7)
        }
    }

    /// Shared between the two threads; read and written only under the lock.
    final class Box: @unchecked Sendable {  // guarded by the test's LockedCondition
        var ready = false
    }
}
