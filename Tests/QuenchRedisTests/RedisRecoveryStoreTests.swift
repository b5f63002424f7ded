#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchMessageQueue
import QuenchSystem
import SocketIO
import Testing

@testable import QuenchRedis

/// The Redis recovery store without a Redis: the reply of the take script read field by field, and a take
/// while Redis is unreachable answered (not left hanging) through the executor, from the store's own thread.
@Suite struct RedisRecoveryStoreTests {
    /// Runs posted jobs when the test asks (the service thread's part), from any thread.
    /// A pthread mutex (LockedCondition), not Synchronization.Mutex: ThreadSanitizer sees the former.
    final class Executor: ServiceExecutor, @unchecked Sendable {  // Sendable: `jobs` is guarded by `lock`
        private let lock = LockedCondition()
        private var jobs: [@Sendable () -> Void] = []
        func execute(_ job: @escaping @Sendable () -> Void) { lock.withLock { jobs.append(job) } }
        func execute(bytes: Int, _ job: @escaping @Sendable () -> Void) { execute(job) }
        func runPosted() -> Int {
            let taken = lock.withLock {
                defer { jobs = [] }
                return jobs
            }
            for job in taken { job() }
            return taken.count
        }
    }

    private func bulk(_ text: String) -> RESPValue { .bulkString(Array(text.utf8)) }

    @Test func readsTheTakeScriptsReply() throws {
        guard case .found(let take) = RedisRecoveryStore.takeAnswer(.success(.array([bulk("{}"), bulk("B"), bulk("2:o1,2:o2,"), bulk("2:a1,"), .integer(0)])))
        else {
            Issue.record("not found")
            return
        }
        #expect(take.record == Array("{}".utf8) && take.recorder == "B" && !take.recorderAlive)
        #expect(try take.ownerPackets.packets() == [Array("o1".utf8), Array("o2".utf8)] && take.adoptedPackets.packets() == [Array("a1".utf8)])
        // The first phase of a take another node records for: [record, recorder].
        guard case .taking(let record, "A@C") = RedisRecoveryStore.takeAnswer(.success(.array([bulk("{}"), bulk("A@C")]))), record == Array("{}".utf8)
        else {
            Issue.record("not taking")
            return
        }
        guard case .notFound = RedisRecoveryStore.takeAnswer(.success(.null)) else {
            Issue.record("nil reply is not notFound")
            return
        }
        // The lists as arrays (the reply before the lists were framed) are not taken for an answer either.
        for odd: RESPValue in [.integer(1), .array([bulk("x")]), .array([bulk("{}"), bulk("B"), .integer(1), bulk(""), .integer(1)]),
            .array([bulk("{}"), bulk("B"), .array([bulk("o1")]), bulk(""), .integer(1)]),
            .array([bulk("{}"), bulk("B"), bulk(""), bulk("")]), .array([.integer(1), bulk("B")]), .error("ERR no")] {
            guard case .unavailable = RedisRecoveryStore.takeAnswer(.success(odd)) else {
                Issue.record("\(odd) was taken for an answer")
                continue
            }
        }
    }

    /// The take script completes the taking message with the JSON-quoted recorder (`cjson.encode`) and `}`.
    @Test func theTakingMessageTheScriptCompletesDecodes() throws {
        let prefix = RedisRecoveryStore.takingMessagePrefix(handle: RecoveryHandle(pid: "p1"), namespace: "/chat \"x\"", taker: "b")
        let message = try PubSubMessage.decode(prefix + Array(#""a@c"}"#.utf8))
        #expect(message.operation == .taking(handle: RecoveryHandle(pid: "p1"), namespace: "/chat \"x\"", taker: "b", recorder: "a@c") && message.hostID == "b")
    }

    /// What a stopping node waits for: every queued command answered (here failed: Redis is unreachable),
    /// and the service thread woken once when the queue drains.
    @Test func theStoreSaysWhenEveryQueuedCommandHasRun() throws {
        let store = RedisRecoveryStore(
            hostID: "h", url: try RedisURL(parsing: "redis://127.0.0.1:1"), channel: "socketio", log: Logger(level: .error, sink: { _ in }))
        #expect(store.isDrained)
        store.prepareToStop()
        store.flushed(handle: RecoveryHandle(pid: "p"), namespace: "/", taker: "t")
        _ = store.append(handle: RecoveryHandle(pid: "p"), packet: [1], adoptedFrom: nil)
        #expect(!store.isDrained)  // queued, no worker yet
        let executor = Executor()
        store.start(executor: executor)
        let deadline = ContinuousClock.now + .seconds(20)
        var woken = 0
        while !store.isDrained || woken == 0, ContinuousClock.now < deadline {
            woken += executor.runPosted()
            usleep(10_000)
        }
        #expect(store.isDrained && woken == 1)
    }

    @Test func aTakeWhileRedisIsDownIsAnsweredUnavailable() throws {
        let store = RedisRecoveryStore(
            hostID: "h", url: try RedisURL(parsing: "redis://127.0.0.1:1"), channel: "socketio", log: Logger(level: .error, sink: { _ in }))
        let executor = Executor()
        store.start(executor: executor)
        final class Answer: @unchecked Sendable { var value: StoreTakeAnswer? }  // written and read on this thread only (in runPosted)
        let answer = Answer()
        _ = store.append(handle: RecoveryHandle(pid: "p"), packet: [1], adoptedFrom: nil)  // fails too: the session is made unrecoverable later
        store.take(handle: RecoveryHandle(pid: "p"), namespace: "/") { answer.value = $0 }
        let deadline = ContinuousClock.now + .seconds(20)
        while answer.value == nil, ContinuousClock.now < deadline {
            if executor.runPosted() == 0 { usleep(10_000) }
        }
        guard case .unavailable? = answer.value else {
            Issue.record("no unavailable answer: \(String(describing: answer.value))")
            return
        }
    }
}
