import CBenchSystem

/// The server's resolved TCP address, and non-blocking sockets connecting to it.
///
/// Resolved once before any client starts, so a thousand clients cost one lookup, not a thousand.
struct SocketAddress {
    private var storage = sockaddr_storage()
    private var length: socklen_t = 0
    private var family: Int32 = 0

    /// Resolves `host` (an IPv4/IPv6 literal without brackets, or a name) with getaddrinfo; the first TCP
    /// address wins.
    static func resolve(host: String, port: Int) throws(BenchError) -> SocketAddress {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var results: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &results)
        guard status == 0, let first = results else {
            throw BenchError("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(results) }
        guard let address = first.pointee.ai_addr, Int(first.pointee.ai_addrlen) <= MemoryLayout<sockaddr_storage>.size else {
            throw BenchError("cannot resolve \(host): no usable address")
        }
        var resolved = SocketAddress()
        resolved.length = first.pointee.ai_addrlen
        resolved.family = first.pointee.ai_family
        withUnsafeMutableBytes(of: &resolved.storage) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(first.pointee.ai_addrlen)))
        }
        return resolved
    }

    /// A non-blocking TCP socket with its connect under way (or done, on loopback it often is at once).
    /// Nagle is off: every request is one write that should leave now, not wait for an ACK.
    func connectNonBlocking() -> Result<Int32, BenchError> {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(BenchError("socket: \(errorText(cbench_errno()))")) }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let result = withUnsafeBytes(of: storage) { raw in
            connect(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
        if result != 0, cbench_errno() != EINPROGRESS {
            let error = cbench_errno()
            close(fd)
            return .failure(BenchError("connect: \(errorText(error))"))
        }
        return .success(fd)
    }
}

/// strerror's text for an cbench_errno() value.
func errorText(_ code: Int32) -> String {
    String(cString: strerror(code))
}
