#if canImport(Glibc)
import Glibc
#endif
import EngineIO

/// One blocking TCP connection to Redis, used by exactly one thread (the subscriber's or the publisher's).
///
/// Why our own RESP2 client rather than hiredis (Debian's `libhiredis-dev`): quench needs five commands
/// (AUTH, SELECT, SUBSCRIBE, PING, PUBLISH) on two dedicated threads, where a blocking socket is the
/// simplest correct design. hiredis would add a second C system-library target, a runtime package to the
/// .deb, C strings and `redisReply` trees to free by hand, and either its blocking API (nothing gained over
/// this file) or its async API (which wants an event loop we do not have off the lws thread). RESP2 is a
/// few dozen lines to parse (`RESPParser`, unit-tested byte by byte), and keeping it in Swift keeps C
/// behind the one lws door (STYLE.md §8.4). This file never touches an lws socket.
final class RedisConnection {
    private var fd: Int32
    private var parser = RESPParser()
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)

    private init(fd: Int32) { self.fd = fd }

    deinit { close() }

    /// Connects to `url`'s host and port (trying each resolved address), then sends AUTH and SELECT as the
    /// URL asks.
    /// - Parameters:
    ///   - url: where Redis is.
    ///   - timeout: milliseconds allowed for the TCP connect and for each reply during setup.
    static func open(_ url: RedisURL, timeout: Int32 = 3000) throws(RedisError) -> RedisConnection {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(url.host, String(url.port), &hints, &list)
        guard status == 0, let first = list else {
            throw .connect("cannot resolve \(url.host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
            guard fd >= 0 else {
                lastError = Self.errnoText()
                continue
            }
            if let failure = connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen, timeout: timeout) {
                lastError = failure
                Glibc.close(fd)
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, socklen_t(MemoryLayout<Int32>.size))
            let connection = RedisConnection(fd: fd)
            try connection.setUp(url, timeout: timeout)
            return connection
        }
        throw .connect("cannot connect to \(url.host):\(url.port): \(lastError)")
    }

    /// A non-blocking connect bounded by `timeout` ms, the socket left blocking afterwards; nil on success.
    private static func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t, timeout: Int32) -> String? {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        if Glibc.connect(fd, address, length) == 0 { return nil }
        guard errno == EINPROGRESS else { return errnoText() }
        var pollEntry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&pollEntry, 1, timeout)
        guard ready > 0 else { return ready == 0 ? "connect timed out after \(timeout) ms" : errnoText() }
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
        return error == 0 ? nil : String(cString: strerror(error))
    }

    private func setUp(_ url: RedisURL, timeout: Int32) throws(RedisError) {
        if let password = url.password {
            let command = url.username.map { RESPCommand.encode("AUTH", $0, password) } ?? RESPCommand.encode("AUTH", password)
            try send(command)
            try expectOK(try read(timeout: timeout), what: "AUTH")
        }
        if url.database != 0 {
            try send(RESPCommand.encode("SELECT", String(url.database)))
            try expectOK(try read(timeout: timeout), what: "SELECT \(url.database)")
        }
    }

    private func expectOK(_ reply: RESPValue?, what: String) throws(RedisError) {
        switch reply {
        case .simpleString: return
        case .error(let message): throw .reply("\(what) refused: \(LogSafe.text(message))")
        case nil: throw .io("no reply to \(what)")
        default: throw .protocolError("unexpected reply to \(what)")
        }
    }

    /// Writes all of `bytes`.
    func send(_ bytes: [UInt8]) throws(RedisError) {
        guard fd >= 0 else { throw .io("connection closed") }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw .io("write failed: \(Self.errnoText())")
            }
            offset += written
        }
    }

    /// The next reply; nil when none completes within `timeout` ms (nil timeout waits forever).
    func read(timeout: Int32?) throws(RedisError) -> RESPValue? {
        while true {
            do {
                if let value = try parser.next() { return value }
            } catch {
                throw .protocolError("protocol violation: \(error)")
            }
            guard fd >= 0 else { throw .io("connection closed") }
            var pollEntry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pollEntry, 1, timeout ?? -1)
            if ready < 0 {
                if errno == EINTR { continue }
                throw .io("poll failed: \(Self.errnoText())")
            }
            if ready == 0 { return nil }
            let count = readBuffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { throw .io("Redis closed the connection") }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw .io("read failed: \(Self.errnoText())")
            }
            parser.append(readBuffer[0..<count])
        }
    }

    /// Closes the socket (idempotent).
    func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
