#if canImport(Glibc)
import Glibc
#endif

/// Binds the address once before lws does, so that "port in use" and "no such address" become one
/// clear line instead of lws's log dump and a NULL context.
enum ListenCheck {
    static func verify(host: String, port: Int) -> LWSServerError? {
        var storage = sockaddr_storage()
        var length: socklen_t
        let family: Int32
        if host.contains(":") {
            family = AF_INET6
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else {
                return LWSServerError("--host \(host) is not an IPv4 or IPv6 address")
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeBytes(of: address) { bytes in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) } }
        } else {
            family = AF_INET
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
                return LWSServerError("--host \(host) is not an IPv4 or IPv6 address")
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeBytes(of: address) { bytes in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) } }
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return LWSServerError("cannot open a socket: \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let result = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard result == 0 else {
            let code = errno
            switch code {
            case EADDRINUSE: return LWSServerError("port \(port) on \(host) is already in use (another quench, or another server?)")
            case EACCES: return LWSServerError("no permission to listen on port \(port) (ports below 1024 need root or CAP_NET_BIND_SERVICE)")
            case EADDRNOTAVAIL: return LWSServerError("--host \(host) is not an address of this machine")
            default: return LWSServerError("cannot listen on \(host):\(port): \(String(cString: strerror(code)))")
            }
        }
        return nil
    }
}
