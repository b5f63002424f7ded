#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchSystem
import Synchronization

@testable import QuenchLWS

/// A real ``LWSServer`` on a free 127.0.0.1 port, served on a thread of its own, whose log lines are
/// kept for the test to read; and raw TCP clients for it.
final class LoopbackServer: Sendable {
    let server: LWSServer
    let port: Int
    /// What the server thread and the log sink share with the test.
    private final class Shared: Sendable {
        let lines = Lock<[String]>([])
        let finished = Atomic(false)
    }

    private let shared = Shared()

    init(configure: (inout LWSServerConfiguration) -> Void = { _ in }) throws {
        port = ServerLifetimeTests.freePort()
        let shared = self.shared
        var configuration = LWSServerConfiguration(
            host: "127.0.0.1", port: port, log: Logger(level: .debug) { line in shared.lines.withLock { $0.append(line) } })
        configure(&configuration)
        server = LWSServer(configuration: configuration)
        _ = server.addEngine(configuration: EngineConfiguration())
        try server.start()
        let server = self.server
        BackgroundThread.start {
            server.run()
            shared.finished.store(true, ordering: .releasing)
        }
    }

    /// The log so far.
    var log: [String] { shared.lines.withLock { $0 } }

    /// Polls `condition` every 10 ms until it holds or `seconds` pass; returns whether it held.
    static func wait(seconds: Double, for condition: () -> Bool) -> Bool {
        let deadline = MonotonicClock.milliseconds() + Int64(seconds * 1000)
        while MonotonicClock.milliseconds() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    /// Stops the server and waits (up to 5 s) for its thread to finish.
    func stop() {
        server.requestStop()
        _ = Self.wait(seconds: 5) { shared.finished.load(ordering: .acquiring) }
    }

    /// A connected TCP socket (blocking, with a 100 ms receive timeout).
    func connect() -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// Sends all of `bytes` on `fd` at once (no SIGPIPE if the server closed); how many were sent, or -1.
    ///
    /// The one place the tests name `MSG_NOSIGNAL`: in some batchings of this target's files the Swift
    /// compiler did not find the macro from a file that imports Glibc alone (seen in a fresh build).
    static func send(_ bytes: [UInt8], on fd: Int32) -> Int {
        Glibc.send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL))
    }

    /// What a client trickling `bytes` one at a time, `gapMilliseconds` apart, reads back within `seconds`,
    /// and whether the server closed the connection by then (reading stops at the close).
    static func trickle(_ bytes: [UInt8], on fd: Int32, gapMilliseconds: Int, seconds: Double) -> (received: [UInt8], closed: Bool) {
        let deadline = MonotonicClock.milliseconds() + Int64(seconds * 1000)
        var index = 0
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var nextSend: Int64 = 0
        while MonotonicClock.milliseconds() < deadline {
            if index < bytes.count, MonotonicClock.milliseconds() >= nextSend {
                let sent = Self.send([bytes[index]], on: fd)
                if sent <= 0 { return (received, true) }
                index += 1
                nextSend = MonotonicClock.milliseconds() + Int64(gapMilliseconds)
            }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { return (received, true) }
            if count > 0 { received += buffer[0..<count] }
            if count < 0, errno != EAGAIN, errno != EWOULDBLOCK { return (received, true) }
        }
        return (received, false)
    }
}
