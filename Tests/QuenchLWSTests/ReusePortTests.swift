#if canImport(Glibc)
import Glibc
#endif
import CLibWebSockets
import EngineIO
import QuenchSystem
import Testing

@testable import QuenchLWS

/// `--reuse-port`: real servers on one real port; the kernel decides who gets each connection.
@Suite struct ReusePortTests {
    /// A polling handshake on a fresh connection to 127.0.0.1:`port`; whether an open packet came back.
    static func handshake(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        guard ServerLifetimeTests.connect(fd, toPort: port) else { return false }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)
        guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return false }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self).contains("0{\"sid\":")
    }

    static func opened(_ server: LoopbackServer) -> Int { server.log.filter { $0.contains("open sid=") }.count }

    @Test("two servers with reusePort bind one port, and the kernel gives each some of 40 connections")
    func twoServersShareAPort() throws {
        let first = try LoopbackServer { $0.reusePort = true }
        defer { first.stop() }
        let second = try LoopbackServer {
            $0.reusePort = true
            $0.port = first.port
        }
        defer { second.stop() }
        for _ in 0..<40 { #expect(Self.handshake(port: first.port)) }
        // One in 2^39 that a fair spread leaves one server out.
        #expect(Self.opened(first) > 0 && Self.opened(second) > 0, "first \(Self.opened(first)), second \(Self.opened(second))")
        #expect(Self.opened(first) + Self.opened(second) == 40)
    }

    @Test("a server that begins to stop closes its socket at once, so the other takes every new connection")
    func stoppingOneLeavesTheOther() throws {
        let first = try LoopbackServer { $0.reusePort = true }
        // Its stop then lasts 3 s (the longest a stop may wait): long enough to see that new connections
        // are not turned away by a server still running its stop ("Server shutting down", 503).
        first.server.holdsStop = { true }
        defer { first.stop() }
        let second = try LoopbackServer {
            $0.reusePort = true
            $0.port = first.port
        }
        defer { second.stop() }
        first.server.requestStop()
        #expect(LoopbackServer.wait(seconds: 2) { first.log.contains { $0.contains("stopping:") } })
        let before = Self.opened(second)
        var served = 0
        #expect(LoopbackServer.wait(seconds: 2) {
            served = Self.handshake(port: first.port) ? served + 1 : 0
            return served == 20
        }, "20 handshakes in a row while the first server is still stopping")
        #expect(Self.opened(second) - before >= 20)
        #expect(Self.opened(first) == 0)
    }

    @Test("a port held without SO_REUSEPORT is in use for a reusePort server, and the other way round, with one line")
    func portHeldWithoutReusePort() throws {
        let port = ServerLifetimeTests.freePort()
        let plain = try ListenCheck.bind(host: "127.0.0.1", port: port, reusePort: false).get()
        defer { close(plain) }
        #expect(listen(plain, 8) == 0)
        let server = LWSServer(configuration: {
            var configuration = LWSServerConfiguration(host: "127.0.0.1", port: port, log: Logger(level: .error))
            configuration.reusePort = true
            return configuration
        }())
        _ = server.addEngine(configuration: EngineConfiguration())
        #expect {
            try server.start()
        } throws: { error in
            "\(error)" == "port \(port) on 127.0.0.1 is already in use by a socket that does not share it (a quench without --reuse-port, another user's, or another server?)"
        }

        let shared = try LoopbackServer { $0.reusePort = true }
        defer { shared.stop() }
        let problem = ListenCheck.verify(host: "127.0.0.1", port: shared.port)
        #expect(problem?.description == "port \(shared.port) on 127.0.0.1 is already in use (another quench, or another server?)")
    }

    @Test("a reusePort server with its listener adopted counts no connection, and a dropped one releases the port")
    func listenerIsNoConnection() throws {
        let port = ServerLifetimeTests.freePort()
        do {
            var configuration = LWSServerConfiguration(host: "127.0.0.1", port: port, log: Logger(level: .error))
            configuration.reusePort = true
            let server = LWSServer(configuration: configuration)
            _ = server.addEngine(configuration: EngineConfiguration())
            try server.start()
            #expect(server.openConnections == 0)
            #expect(server.reusePortListener?.wsi != nil)
            #expect(ServerLifetimeTests.accepts(port: port))
        }
        #expect(!ServerLifetimeTests.accepts(port: port))
    }

    @Test("accept errors: EAGAIN ends the turn, a connection's own error skips it, want of descriptors pauses")
    func afterFailure() {
        #expect(ReusePortListener.afterFailure(EAGAIN) == .drained)
        for code in [ECONNABORTED, EINTR, EPROTO, ENETDOWN, EHOSTUNREACH] { #expect(ReusePortListener.afterFailure(code) == .next) }
        for code in [EMFILE, ENFILE, ENOBUFS, ENOMEM, EBADF] { #expect(ReusePortListener.afterFailure(code) == .pause) }
    }
}
