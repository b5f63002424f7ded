#if canImport(Glibc)
import Glibc
#endif

/// A listening TCP socket on 127.0.0.1 for the tests' fake Redis servers (port 0 picks a free one).
struct LoopbackListener {
    let fd: Int32
    let port: UInt16

    init?(port: UInt16 = 0) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 4) == 0 else {
            Glibc.close(fd)
            return nil
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            _ = $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = UInt16(bigEndian: address.sin_port)
    }

    /// The next connection, or -1 when none comes within `timeout` ms.
    func accept(timeout: Int32 = 10_000) -> Int32 {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, timeout) > 0 else { return -1 }
        let client = Glibc.accept(fd, nil, nil)
        if client >= 0 { _ = fcntl(client, F_SETFD, FD_CLOEXEC) }  // not for the redis-server other suites start
        return client
    }

    func close() { Glibc.close(fd) }

    /// Writes all of `text` to `fd`.
    static func write(_ text: String, to fd: Int32) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            guard written > 0 else { return }
            offset += written
        }
    }

    /// Reads what arrives on `fd` until `count` bytes came, the peer closed, or `timeout` ms passed with nothing.
    static func read(from fd: Int32, atLeast count: Int, timeout: Int32 = 5000) -> [UInt8] {
        var got: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while got.count < count, poll(&entry, 1, timeout) > 0 {
            let read = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            guard read > 0 else { break }
            got += buffer[0..<read]
        }
        return got
    }
}
