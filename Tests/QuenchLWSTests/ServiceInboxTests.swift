#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchSystem
import Synchronization
import Testing

@testable import QuenchLWS

/// The inbox of a real lws server: jobs posted past its bound are dropped with one log line for the
/// episode, and a stop request posted after them is still carried out.
@Suite struct ServiceInboxTests {
    final class Lines: Sendable {
        private let lines = Lock<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    @Test("past 10,000 waiting jobs new ones are dropped with one warn line; the stop request is not dropped")
    func fullInboxStillStops() throws {
        let lines = Lines()
        let server = LWSServer(
            configuration: LWSServerConfiguration(
                host: "127.0.0.1", port: ServerLifetimeTests.freePort(), log: Logger(level: .warn, sink: { lines.append($0) })))
        _ = server.addEngine(configuration: EngineConfiguration())
        try server.start()
        let ran = Atomic<Int>(0)
        // Nothing drains before run(): the service thread is "behind" by every job posted here.
        for _ in 0..<10_050 { server.executor.execute { ran.add(1, ordering: .relaxed) } }
        server.requestStop()
        // A watchdog so that a lost stop request fails the test instead of hanging it.
        let watchdogFired = Atomic<Bool>(false)
        BackgroundThread.start { [server] in
            var pause = timespec(tv_sec: 20, tv_nsec: 0)
            nanosleep(&pause, nil)
            watchdogFired.store(true, ordering: .relaxed)
            server.requestStop()
        }
        server.run()  // returns only if a stop request came through the full inbox
        let fired = watchdogFired.load(ordering: .relaxed)
        let jobsRun = ran.load(ordering: .relaxed)
        #expect(!fired, "the stop request posted to the full inbox was lost")
        #expect(jobsRun == 10_000)
        let warnings = lines.all.filter { $0.contains("service inbox full") }
        #expect(warnings == ["warn service inbox full (limit 10000 jobs, 67108864 bytes): dropped 50 jobs from other threads (0 bytes of messages)\n"])
    }
}
