#if canImport(Glibc)
import Glibc
#endif
import CLibWebSockets

/// Binds once before lws does, so that "port in use" and "no such address" become one clear line
/// instead of lws's log dump and a NULL context. With `--reuse-port` the socket bound here is the one
/// quench listens on (``ReusePortListener``), so the lines are the same either way.
enum ListenCheck {
    static func verify(host: String, port: Int) -> LWSServerError? {
        switch bind(host: host, port: port, reusePort: false) {
        case .success(let fd):
            Glibc.close(fd)
            return nil
        case .failure(let problem):
            return problem
        }
    }

    /// A close-on-exec TCP socket bound to `host`:`port` (not yet listening), with SO_REUSEADDR, and
    /// SO_REUSEPORT when `reusePort`: then it shares the port with every other socket that set it too
    /// (same user), and a port held by one that did not is "in use" as before.
    static func bind(host: String, port: Int, reusePort: Bool) -> Result<Int32, LWSServerError> {
        var storage = sockaddr_storage()
        var length: socklen_t
        let family: Int32
        if host.contains(":") {
            family = AF_INET6
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else {
                return .failure(LWSServerError("--host \(host) is not an IPv4 or IPv6 address"))
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeBytes(of: address) { bytes in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) } }
        } else {
            family = AF_INET
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
                return .failure(LWSServerError("--host \(host) is not an IPv4 or IPv6 address"))
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeBytes(of: address) { bytes in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) } }
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(LWSServerError("cannot open a socket: \(String(cString: strerror(errno)))")) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if reusePort, setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            let code = errno
            Glibc.close(fd)
            return .failure(LWSServerError("--reuse-port: this system refuses SO_REUSEPORT: \(String(cString: strerror(code)))"))
        }
        let result = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            return .failure(explain(bindError: code, host: host, port: port, reusePort: reusePort))
        }
        return .success(fd)
    }

    /// The one line for a bind that failed with `code`.
    static func explain(bindError code: Int32, host: String, port: Int, reusePort: Bool) -> LWSServerError {
        switch code {
        case EADDRINUSE where reusePort:
            return LWSServerError(
                "port \(port) on \(host) is already in use by a socket that does not share it (a quench without --reuse-port, another user's, or another server?)")
        case EADDRINUSE: return LWSServerError("port \(port) on \(host) is already in use (another quench, or another server?)")
        case EACCES: return LWSServerError("no permission to listen on port \(port) (ports below 1024 need root or CAP_NET_BIND_SERVICE)")
        case EADDRNOTAVAIL: return LWSServerError("--host \(host) is not an address of this machine")
        default: return LWSServerError("cannot listen on \(host):\(port): \(String(cString: strerror(code)))")
        }
    }
}
