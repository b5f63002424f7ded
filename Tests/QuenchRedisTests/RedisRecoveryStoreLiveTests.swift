#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchSystem
import SocketIO
import Testing

@testable import QuenchRedis

/// The Redis recovery store against a real redis-server running the real Lua scripts (skipped when
/// redis-server is not installed): what a take returns is bounded by bytes only, and a take reply the reader
/// refuses fails that take alone.
@Suite(.enabled(if: LiveRedis.path != nil, "needs redis-server")) struct RedisRecoveryStoreLiveTests {
    typealias Executor = RedisRecoveryStoreTests.Executor

    /// Collects log lines (the store logs from its own thread).
    final class Lines: Sendable {
        private let lines = Lock<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    /// Answers handed to the service thread's side (read and written on the test's thread, in runPosted).
    final class Answers: @unchecked Sendable {
        var byPID: [String: StoreTakeAnswer] = [:]
    }

    private func session(_ pid: String, owner: String) -> StoredSession {
        StoredSession(namespace: "/", handle: RecoveryHandle(pid: pid), sid: "sid-" + pid, rooms: [], data: nil, owner: owner, floor: 1, next: 2, packets: [])
    }

    /// Runs what the store posts until `answers` holds `count` answers or 60 s passed.
    private func wait(for count: Int, _ answers: Answers, _ executor: Executor) {
        let deadline = ContinuousClock.now + .seconds(60)
        while answers.byPID.count < count, ContinuousClock.now < deadline {
            if executor.runPosted() == 0 { usleep(5_000) }
        }
    }

    /// 256 KiB exactly of the smallest events a session can miss, 37,449 of them, come back whole and in
    /// order from one take. (Returned one array element per event, as before, the reply was refused past
    /// 1,024 of them, after the script had deleted the session.)
    @Test func asManySmallestEventsAsTheByteBoundHoldsComeBackFromOneTake() throws {
        let redis = try #require(LiveRedis())
        let store = RedisRecoveryStore(hostID: "h1", url: try RedisURL(parsing: redis.url), channel: "live", log: Logger(level: .error, sink: { _ in }))
        let executor = Executor()
        store.start(executor: executor)
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        let bound = SocketIOConfiguration.defaultRecoveryAwayBytes
        var packets = (0..<(bound / 7 - 1)).map { Array("[[\"\(letters[$0 % letters.count])\"]]".utf8) }
        packets.append(Array("[[\"\(String(repeating: "z", count: 1 + bound % 7))\"]]".utf8))
        #expect(packets.reduce(0) { $0 + $1.count } == bound && packets.count == 37_449)
        store.keep(session("p1", owner: "h1"), window: 60_000)
        for packet in packets { #expect(store.append(handle: RecoveryHandle(pid: "p1"), packet: packet, adoptedFrom: nil)) }
        let answers = Answers()
        store.take(handle: RecoveryHandle(pid: "p1"), namespace: "/") { answers.byPID["p1"] = $0 }
        wait(for: 1, answers, executor)
        guard case .found(let take)? = answers.byPID["p1"] else {
            Issue.record("not found: \(String(describing: answers.byPID["p1"]))")
            return
        }
        let missed = try take.ownerPackets.packets()
        #expect(missed.count == packets.count)
        #expect(missed == packets)
        #expect(try take.adoptedPackets.packets().isEmpty && take.recorder == "h1" && take.recorderAlive)
        // Taken once: the keys are gone.
        store.take(handle: RecoveryHandle(pid: "p1"), namespace: "/") { answers.byPID["again"] = $0 }
        wait(for: 2, answers, executor)
        guard case .notFound? = answers.byPID["again"] else {
            Issue.record("taken twice: \(String(describing: answers.byPID["again"]))")
            return
        }
    }

    /// A take whose reply the reader refuses (here a list of more than its 16 MiB bound on a string, which
    /// only something else writing to Redis could make) fails alone: the appends and takes queued with it in
    /// one pipelined batch run on the connection made again, and no other session is made unrecoverable.
    @Test func aTakeReplyTheReaderRefusesFailsThatTakeAlone() throws {
        let redis = try #require(LiveRedis())
        let lines = Lines()
        let store = RedisRecoveryStore(hostID: "h1", url: try RedisURL(parsing: redis.url), channel: "live", log: Logger(level: .info, sink: { lines.append($0) }))
        let before = Array(#"[["before"]]"#.utf8)
        let after = Array(#"[["after"]]"#.utf8)
        let answers = Answers()
        // Queued before the worker starts, so that they all go out in one batch as far as batches go.
        for pid in ["p1", "p2", "p3"] { store.keep(session(pid, owner: "h1"), window: 60_000) }
        #expect(store.append(handle: RecoveryHandle(pid: "p1"), packet: [UInt8](repeating: 0x20, count: 17 << 20), adoptedFrom: nil))
        #expect(store.append(handle: RecoveryHandle(pid: "p2"), packet: before, adoptedFrom: nil))
        store.take(handle: RecoveryHandle(pid: "p1"), namespace: "/") { answers.byPID["p1"] = $0 }
        #expect(store.append(handle: RecoveryHandle(pid: "p2"), packet: after, adoptedFrom: nil))
        store.take(handle: RecoveryHandle(pid: "p2"), namespace: "/") { answers.byPID["p2"] = $0 }
        store.take(handle: RecoveryHandle(pid: "p3"), namespace: "/") { answers.byPID["p3"] = $0 }
        let executor = Executor()
        store.start(executor: executor)
        wait(for: 3, answers, executor)
        guard case .unavailable(let reason)? = answers.byPID["p1"] else {
            Issue.record("the oversized take was answered \(String(describing: answers.byPID["p1"]))")
            return
        }
        #expect(reason.contains("bulk string of"))
        guard case .found(let second)? = answers.byPID["p2"], case .found? = answers.byPID["p3"] else {
            Issue.record("the takes behind it failed too: \(answers.byPID)")
            return
        }
        #expect(try second.ownerPackets.packets() == [before, after])
        #expect(lines.all.contains { $0.contains("sent a reply that cannot be read") && $0.contains("bulk string of") })
        #expect(!lines.all.contains { $0.contains("made unrecoverable") })
    }

    /// The sessions waiting to be made unrecoverable are bounded: past the bound the oldest go, with one
    /// `warn` line when dropping begins and one `info` line with the count once the list has been deleted.
    @Test func theSessionsToMakeUnrecoverableAreBoundedWithALinePerEpisode() throws {
        let redis = try #require(LiveRedis())
        let lines = Lines()
        // A queue that takes nothing: every append and delete is refused, so its session waits on the list.
        let store = RedisRecoveryStore(
            hostID: "h1", url: try RedisURL(parsing: redis.url), channel: "live", log: Logger(level: .info, sink: { lines.append($0) }),
            capacity: 0, forgetLimit: 3)
        for pid in ["p1", "p2", "p3", "p4", "p5"] { #expect(!store.append(handle: RecoveryHandle(pid: pid), packet: [1], adoptedFrom: nil)) }
        store.forget(handle: RecoveryHandle(pid: "p6"))
        let warned = lines.all.filter { $0.contains("3 dropped sessions wait to be made unrecoverable") }
        #expect(warned.count == 1 && warned.first?.hasPrefix("warn") == true)
        store.start(executor: Executor())
        let deadline = ContinuousClock.now + .seconds(20)
        while !lines.all.contains(where: { $0.contains("were let go") }), ContinuousClock.now < deadline { usleep(10_000) }
        #expect(lines.all.contains { $0.contains("recovery: 3 dropped sessions made unrecoverable") })
        #expect(lines.all.contains { $0.contains("every dropped session waiting to be made unrecoverable is; 3 were let go at the bound meanwhile") })
    }
}
