#if canImport(Glibc)
import Glibc
#endif
import CLibWebSockets
import EngineIO
import QuenchSystem
import Testing

@testable import QuenchLWS

/// A server's context, its strings and its callbacks live exactly as long as the server.
@Suite struct ServerLifetimeTests {
    /// A port on 127.0.0.1 that was free a moment ago (bind port 0, read it, release it).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length)
                return getsockname(fd, pointer, &length)
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        return connect(fd, toPort: port)
    }

    /// Connects the socket `fd` to 127.0.0.1:`port`; whether it connected.
    static func connect(_ fd: Int32, toPort port: Int) -> Bool {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    @Test("a server that is started and dropped without run() releases its port and does not trap")
    func startedServerDroppedWithoutRunning() throws {
        let port = Self.freePort()
        do {
            let server = LWSServer(configuration: LWSServerConfiguration(host: "127.0.0.1", port: port, log: Logger(level: .error)))
            _ = server.addEngine(configuration: EngineConfiguration())
            try server.start()
            #expect(Self.accepts(port: port), "the started server listens")
        }
        #expect(!Self.accepts(port: port), "the dropped server's listening socket is closed")
    }

    @Test("a dropped server with a connection still pending in its listen queue does not trap")
    func droppedWithPendingConnection() throws {
        let port = Self.freePort()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        do {
            let server = LWSServer(configuration: LWSServerConfiguration(host: "127.0.0.1", port: port, log: Logger(level: .error)))
            _ = server.addEngine(configuration: EngineConfiguration())
            try server.start()
            #expect(Self.connect(fd, toPort: port))
        }
        #expect(!Self.accepts(port: port))
    }

    @Test("a dropped server whose context holds a connection (a Swift object attached) releases it without reaching the server")
    func droppedWithAcceptedConnection() throws {
        let port = Self.freePort()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        do {
            let server = LWSServer(configuration: LWSServerConfiguration(host: "127.0.0.1", port: port, log: Logger(level: .error)))
            _ = server.addEngine(configuration: EngineConfiguration())
            try server.start()
            _ = Self.connect(fd, toPort: port)
            // Serve by hand (this thread acts as the service thread, as run() would) until lws has accepted
            // the connection and quench has attached its object to it; then drop the server, never run.
            let context = try #require(server.context)
            let deadline = MonotonicClock.milliseconds() + 5000
            while server.openConnections == 0, MonotonicClock.milliseconds() < deadline { lws_service(context, 0) }
            #expect(server.openConnections == 1)
        }
        #expect(!Self.accepts(port: port))
    }
}
