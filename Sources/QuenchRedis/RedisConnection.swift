#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchMessageQueue
import QuenchTLSClient

/// One TCP connection to Redis (TLS over it for `rediss://`), used by exactly one thread (the subscriber's,
/// the publisher's or the recovery store's). The socket is non-blocking; every wait is a `poll` with a
/// deadline, so no Redis, not even one stopped with SIGSTOP, can hold the thread for ever.
///
/// "Up" means Redis answered: ``open(_:timeout:)`` sends AUTH and SELECT as the URL asks, then PING, and
/// returns only once PONG came back. A port that accepts TCP but speaks something else (HTTP), or a
/// stopped Redis whose kernel still completes connects, is a failed attempt like a refused connect.
///
/// Why our own RESP2 client rather than hiredis (Debian's `libhiredis-dev`): quench needs a handful of
/// commands (AUTH, SELECT, PING, SUBSCRIBE, PUBLISH, EVAL) on dedicated threads, where a blocking-style loop
/// over one socket is the simplest correct design. hiredis would add a second C system-library target, a
/// runtime package to the .deb, C strings and `redisReply` trees to free by hand, and either its blocking
/// API (nothing gained over this file) or its async API (which wants an event loop we do not have off the
/// lws thread). RESP2 is a few dozen lines to parse (`RESPParser`, unit-tested byte by byte), and keeping it
/// in Swift keeps C behind its doors (STYLE.md §8.4): TLS is `QuenchTLSClient`'s, the only code that touches
/// OpenSSL. This file never touches an lws socket.
final class RedisConnection {
    /// How long a write may go without the kernel taking a byte before the connection is given up, in
    /// milliseconds (as nginx's `send_timeout`: between two successful writes, not for the whole batch).
    static let writeTimeout: Int32 = 5000
    private var fd: Int32
    /// The TLS session over `fd` for `rediss://`; nil for plain TCP.
    private var tls: TLSClientSession?
    private var parser = RESPParser()
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    /// Milliseconds a write may wait for the kernel to take a byte.
    let writeTimeout: Int32

    private init(fd: Int32, writeTimeout: Int32) {
        self.fd = fd
        self.writeTimeout = writeTimeout
    }

    /// What one non-blocking read or write did: the TLS session's answer, which plain TCP gives too.
    private typealias Step = TLSClientSession.Step

    deinit { close() }

    /// Connects as ``open(_:timeout:writeTimeout:)`` does, paced: when `pacing` says the last failure was
    /// too recent, throws at once without connecting; every failure (and a connection that ended soon
    /// after it was made) pushes the next attempt back by the backoff.
    /// - Parameters:
    ///   - url: where Redis is, with the credentials to give it.
    ///   - timeout: milliseconds allowed for the TCP connect and for each reply during the handshake.
    ///   - writeTimeout: milliseconds any write may wait without progress; default ``writeTimeout``.
    ///   - pacing: the owner's schedule of attempts.
    static func open(_ url: RedisURL, timeout: Int32 = 3000, writeTimeout: Int32 = writeTimeout, pacing: inout ConnectPacing) throws(RedisError)
        -> RedisConnection
    {
        let now = ConnectPacing.now()
        pacing.connectionEnded(at: now)
        let wait = pacing.delay(at: now)
        guard wait == 0 else { throw .connect("backing off after a failure; next attempt in \(wait) ms") }
        do {
            let connection = try open(url, timeout: timeout, writeTimeout: writeTimeout)
            pacing.attemptSucceeded(at: ConnectPacing.now())
            return connection
        } catch {
            pacing.attemptFailed(at: ConnectPacing.now())
            throw error
        }
    }

    /// Connects to `url`'s host and port (trying each resolved address), sends AUTH and SELECT as the URL
    /// asks, then PING, and returns once Redis answered PONG.
    /// - Parameters:
    ///   - url: where Redis is, with the credentials to give it.
    ///   - timeout: milliseconds allowed for the TCP connect and for each reply during the handshake.
    ///   - writeTimeout: milliseconds any write may wait without progress; default ``writeTimeout``.
    static func open(_ url: RedisURL, timeout: Int32 = 3000, writeTimeout: Int32 = writeTimeout) throws(RedisError) -> RedisConnection {
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
            let fd = socket(
                info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                info.pointee.ai_protocol)
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
            let connection = RedisConnection(fd: fd, writeTimeout: writeTimeout)
            if let settings = url.tls { try connection.startTLS(settings, url: url, timeout: timeout) }
            try connection.handshake(url, timeout: timeout)
            return connection
        }
        throw .connect("cannot connect to \(url.host):\(url.port): \(lastError)")
    }

    /// A connect on the non-blocking `fd` bounded by `timeout` ms; nil on success.
    private static func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t, timeout: Int32) -> String? {
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

    /// The TLS handshake, bounded by `timeout` ms; a certificate that does not verify fails it.
    private func startTLS(_ settings: TLSClientSession.Settings, url: RedisURL, timeout: Int32) throws(RedisError) {
        let session: TLSClientSession
        do {
            session = try TLSClientSession(fd: fd, settings: settings)
        } catch {
            throw .connect("\(error)")
        }
        let deadline = ConnectPacing.now() + Int64(timeout)
        while true {
            let waitFor: Int16
            switch session.handshake() {
            case .done:
                tls = session
                return
            case .wantRead: waitFor = Int16(POLLIN)
            case .wantWrite: waitFor = Int16(POLLOUT)
            case .closed: throw .connect("TLS handshake with \(url.host):\(url.port) failed: the server closed the connection (is it serving TLS?)")
            case .failed(let reason): throw .connect("TLS handshake with \(url.host):\(url.port) failed: \(LogSafe.text(reason))")
            }
            try wait(for: waitFor, until: deadline) { .connect("TLS handshake with \(url.host):\(url.port) not done within \(timeout) ms (is it serving TLS?)") }
        }
    }

    /// Writes what it can of `count` bytes at `bytes` without waiting.
    private func writeSome(_ bytes: UnsafeRawPointer, count: Int) -> Step {
        if let tls { return tls.write(bytes, count: count) }
        while true {
            let written = Glibc.send(fd, bytes, count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            if written >= 0 { return .done(written) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wantWrite
            default: return .failed(Self.errnoText())
            }
        }
    }

    /// Reads what has arrived, up to `count` bytes, without waiting.
    private func readSome(into buffer: UnsafeMutableRawPointer, count: Int) -> Step {
        if let tls { return tls.read(into: buffer, count: count) }
        while true {
            let received = recv(fd, buffer, count, Int32(MSG_DONTWAIT))
            if received > 0 { return .done(received) }
            if received == 0 { return .closed }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wantRead
            default: return .failed(Self.errnoText())
            }
        }
    }

    /// AUTH, SELECT and PING in one write; each reply read in turn. Only PONG makes the connection up.
    private func handshake(_ url: RedisURL, timeout: Int32) throws(RedisError) {
        var out: [UInt8] = []
        if let password = url.password {
            let arguments = [Array("AUTH".utf8)] + (url.username.map { [Array($0.utf8)] } ?? []) + [Array(password.utf8)]
            RESPCommand.append(arguments, to: &out)
        }
        if url.database != 0 { RESPCommand.append([Array("SELECT".utf8), Array(String(url.database).utf8)], to: &out) }
        RESPCommand.append([Array("PING".utf8)], to: &out)
        try send(out)
        if url.password != nil {
            let who = url.username.map { "as user \"\(LogSafe.text($0))\"" } ?? "with a password"
            switch try handshakeReply(to: "AUTH", timeout: timeout) {
            case .simpleString: break
            case .error(let message): throw .reply("Redis refused AUTH \(who): \(LogSafe.text(message))")
            default: throw .connect("unexpected reply to AUTH: is \(url.host):\(url.port) a Redis server?")
            }
        }
        if url.database != 0 {
            switch try handshakeReply(to: "SELECT", timeout: timeout) {
            case .simpleString: break
            case .error(let message): throw .reply("Redis refused SELECT \(url.database): \(LogSafe.text(message))")
            default: throw .connect("unexpected reply to SELECT: is \(url.host):\(url.port) a Redis server?")
            }
        }
        switch try handshakeReply(to: "PING", timeout: timeout) {
        case .simpleString(let text) where text == "PONG": return
        case .error(let message) where message.hasPrefix("NOAUTH") && url.password == nil:
            throw .reply("Redis wants a password and none was given (\(LogSafe.text(message)))")
        case .error(let message): throw .reply("Redis refused PING: \(LogSafe.text(message))")
        default: throw .connect("unexpected reply to PING: is \(url.host):\(url.port) a Redis server?")
        }
    }

    /// The next reply during the handshake; a peer that is silent or not speaking RESP is named as such.
    private func handshakeReply(to command: String, timeout: Int32) throws(RedisError) -> RESPValue {
        let reply: RESPValue?
        do {
            reply = try read(timeout: timeout)
        } catch {
            // Not a violation by a Redis we were talking to (which would call for a new connection at once):
            // the peer never was Redis, a failed attempt like a refused connect.
            guard error.isProtocolViolation else { throw error }
            throw .connect("\(error) in the reply to \(command): is this a Redis server?")
        }
        guard let reply else { throw .io("no reply to \(command) within \(timeout) ms") }
        return reply
    }

    /// Writes all of `bytes` (see ``send(_:handedOver:)``).
    func send(_ bytes: [UInt8]) throws(RedisError) {
        var handedOver = 0
        try send(bytes, handedOver: &handedOver)
    }

    /// Writes all of `bytes`, waiting at most ``writeTimeout`` ms for the kernel to take each next byte;
    /// at that deadline (a Redis that stopped reading) it throws and the connection should be dropped.
    /// - Parameters:
    ///   - bytes: what to write.
    ///   - handedOver: set to how many bytes the kernel took, also when it throws: only those can have
    ///     reached Redis (a command cut short by the failure cannot have run).
    func send(_ bytes: [UInt8], handedOver: inout Int) throws(RedisError) {
        handedOver = 0
        guard fd >= 0 else { throw .io("connection closed") }
        var deadline = ConnectPacing.now() + Int64(writeTimeout)
        while handedOver < bytes.count {
            let offset = handedOver
            let step = bytes.withUnsafeBytes { raw in writeSome(raw.baseAddress! + offset, count: raw.count - offset) }
            let waitFor: Int16
            switch step {
            case .done(let written):
                guard written > 0 else { throw .io("write failed: no progress") }
                handedOver += written
                deadline = ConnectPacing.now() + Int64(writeTimeout)
                continue
            case .wantWrite: waitFor = Int16(POLLOUT)
            case .wantRead: waitFor = Int16(POLLIN)  // TLS: a renegotiation or key update wants the peer first
            case .closed: throw .io("Redis closed the connection")
            case .failed(let reason): throw .io("write failed: \(LogSafe.text(reason))")
            }
            try wait(for: waitFor, until: deadline) {
                .io("Redis took no bytes for \(writeTimeout) ms (write deadline; \(bytes.count - handedOver) of \(bytes.count) bytes unsent)")
            }
        }
    }

    /// Polls for `events` until `deadline` (monotonic ms); throws `timedOut()` when it passes first.
    private func wait(for events: Int16, until deadline: Int64, timedOut: () -> RedisError) throws(RedisError) {
        while true {
            let left = deadline - ConnectPacing.now()
            guard left > 0 else { throw timedOut() }
            var pollEntry = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&pollEntry, 1, Int32(clamping: left))
            if ready > 0 { return }
            if ready < 0, errno != EINTR { throw .io("poll failed: \(Self.errnoText())") }
        }
    }

    /// The next reply; nil when no byte arrives for `timeout` ms (nil timeout waits for ever).
    func read(timeout: Int32?) throws(RedisError) -> RESPValue? {
        while true {
            do {
                if let value = try parser.next() { return value }
            } catch {
                throw .protocolError("protocol violation: \(error)")
            }
            guard fd >= 0 else { throw .io("connection closed") }
            let waitFor: Int16
            switch readBuffer.withUnsafeMutableBytes({ readSome(into: $0.baseAddress!, count: $0.count) }) {
            case .done(let count):
                parser.append(readBuffer[0..<count])
                continue
            case .wantRead: waitFor = Int16(POLLIN)
            case .wantWrite: waitFor = Int16(POLLOUT)
            case .closed: throw .io("Redis closed the connection")
            case .failed(let reason): throw .io("read failed: \(LogSafe.text(reason))")
            }
            var pollEntry = pollfd(fd: fd, events: waitFor, revents: 0)
            let ready = poll(&pollEntry, 1, timeout ?? -1)
            if ready < 0 {
                if errno == EINTR { continue }
                throw .io("poll failed: \(Self.errnoText())")
            }
            if ready == 0 { return nil }
        }
    }

    /// The socket, when this is plain TCP and open: what ``RedisPublisher`` writes to from the service thread
    /// without waking its own thread. Nil under TLS (a TLS session is one thread's) and once closed.
    var plainDescriptor: Int32? { tls == nil && fd >= 0 ? fd : nil }

    /// For reading on the service thread (``SubscriptionReader``): the socket, plain TCP only, and what was
    /// read past the last reply taken. This connection keeps the socket, to write to it and to close it, and
    /// must not read from it again.
    func handOverReading() -> (descriptor: Int32, parser: RESPParser)? {
        guard let descriptor = plainDescriptor else { return nil }
        defer { parser = RESPParser() }
        return (descriptor, parser)
    }

    /// Takes back what ``handOverReading()`` gave when the service thread declined it.
    func takeBackReading(_ parser: RESPParser) { self.parser = parser }

    /// Ends the connection for every descriptor of the socket (a duplicate the service thread polls sees its
    /// end), before ``close()``.
    func shutDown() {
        guard fd >= 0 else { return }
        _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }

    /// Closes the socket (idempotent).
    /// No TLS close_notify: a connection is closed after a failure, and a close_notify could push out the
    /// rest of a record cut short by the write deadline, after its commands were queued to be sent again.
    func close() {
        guard fd >= 0 else { return }
        tls = nil
        Glibc.close(fd)
        fd = -1
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
