#if canImport(Glibc)
import Glibc
#endif

/// A redis-server of a test's own on a free loopback port, killed when the value goes; nil when none is
/// installed (the tests that need one are then skipped). Readiness is polled with a deadline, never slept for.
final class LiveRedis {
    let pid: pid_t
    let port: UInt16

    /// Where redis-server is, if it is installed.
    static let path: String? = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first { access($0, X_OK) == 0 }

    init?() {
        guard let path = Self.path, let port = Self.freePort() else { return nil }
        let arguments = [path, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]
        var argv = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var child: pid_t = 0
        guard posix_spawn(&child, path, &actions, nil, &argv, environ) == 0 else { return nil }
        pid = child
        self.port = port
        guard waitUntilReady(deadlineMilliseconds: 10_000) else { return nil }
    }

    deinit {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    var url: String { "redis://127.0.0.1:\(port)" }

    /// A port nothing listens on now (bound and closed again; redis-server binds it right after).
    private static func freePort() -> UInt16? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        return bound ? UInt16(bigEndian: address.sin_port) : nil
    }

    /// Whether a PING is answered within the deadline (tried every 20 ms).
    private func waitUntilReady(deadlineMilliseconds: Int) -> Bool {
        var waited = 0
        while waited < deadlineMilliseconds {
            if ping() { return true }
            usleep(20_000)
            waited += 20
        }
        return false
    }

    private func ping() -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected, write(fd, "PING\r\n", 6) == 6 else { return false }
        var pollEntry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pollEntry, 1, 500) == 1 else { return false }
        var reply = [UInt8](repeating: 0, count: 16)
        let count = reply.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        return count >= 5 && Array(reply[0..<5]) == Array("+PONG".utf8)
    }
}
