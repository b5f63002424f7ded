#if canImport(Glibc)
import Glibc
#endif
import CLibWebSockets
import EngineIO

/// `--node-link`'s sockets: plain non-blocking TCP descriptors of quench's own, polled by the service loop
/// as watched descriptors (``LWSServer/watchDescriptor(_:readable:closed:)``), with room-to-write
/// notification for writes the kernel could not take at once and for connects under way. lws only polls
/// them; reading, writing, connecting and accepting are plain system calls here.
final class LinkDescriptorSocket: LinkSocket {
    weak var handler: (any LinkSocketHandler)?
    let peerAddress: String
    private let fd: Int32
    private var watch: WatchedDescriptor?
    /// A connect under way: the first room to write says how it went.
    private var connecting: Bool
    private var isClosed = false
    /// Bytes read per wake-up at most; more waits for the next turn of the loop.
    private static let readChunk = 65_536
    /// Where reads land, made once: a message between nodes is usually a few hundred bytes, and clearing
    /// 64 KiB for each would cost more than reading it.
    private var scratch = [UInt8](repeating: 0, count: LinkDescriptorSocket.readChunk)

    fileprivate init(fd: Int32, peerAddress: String, connecting: Bool) {
        self.fd = fd
        self.peerAddress = peerAddress
        self.connecting = connecting
    }

    /// Polls `fd` on `server`'s loop; false when the loop would not take it (the descriptor is closed then).
    fileprivate func attach(to server: LWSServer) -> Bool {
        // Unowned: the watch calls nothing after ``close()``, which deinit does too. (A weak reference would give
        // each socket a side table, which LeakSanitizer cannot trace from a socket still held at exit.)
        guard
            let watch = server.watchDescriptor(
                fd, readable: { [unowned self] in readable() },
                closed: { [unowned self, unowned server] in
                    // The context going at the stop closes every watched descriptor: nothing to tell then.
                    if server.isClosingContext { close() } else { lost("the service loop saw a hang-up or an error") }
                })
        else {
            Glibc.close(fd)
            isClosed = true
            return false
        }
        watch.writable = { [unowned self] in writable() }
        self.watch = watch
        if connecting { watch.wantWritable() }
        return true
    }

    func write(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !isClosed else { return nil }
        if connecting || bytes.isEmpty { return 0 }
        // errno is read at once, before any other call can change it.
        let (sent, code) = bytes.withUnsafeBytes { bytes -> (Int, Int32) in
            let sent = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            return (sent, sent < 0 ? errno : 0)
        }
        if sent >= 0 { return sent }
        return code == EAGAIN || code == EWOULDBLOCK || code == EINTR ? 0 : nil
    }

    func wantWritable() { watch?.wantWritable() }

    deinit { close() }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        watch?.stop()
        watch = nil
        Glibc.close(fd)
    }

    private func readable() {
        guard !isClosed else { return }
        let fd = fd
        let (count, code) = scratch.withUnsafeMutableBytes { buffer -> (Int, Int32) in
            let count = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
            return (count, count < 0 ? errno : 0)
        }
        if count > 0 {
            handler?.linkSocket(self, received: Array(scratch[0..<count]))
            return
        }
        if count < 0, code == EAGAIN || code == EWOULDBLOCK || code == EINTR { return }
        lost(count == 0 ? "closed by the other end" : "read failed: \(String(cString: strerror(code)))")
    }

    private func writable() {
        guard !isClosed else { return }
        if connecting {
            var problem: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &problem, &length) == 0, problem == 0 else {
                return lost("connect failed: \(String(cString: strerror(problem)))")
            }
            connecting = false
        }
        handler?.linkSocketWritable(self)
    }

    /// The end (a hang-up, an error, a failed connect): closed, then told.
    private func lost(_ reason: String) {
        guard !isClosed else { return }
        close()
        handler?.linkSocketClosed(self, reason: reason)
    }
}

/// The listening socket of `--node-link`.
final class LinkListener {
    let fd: Int32
    var watch: WatchedDescriptor?
    let accepted: (any LinkSocket) -> Void
    /// Connections taken per wake-up at most, as for ``ReusePortListener``.
    static let acceptsPerWake = 32

    init(fd: Int32, accepted: @escaping (any LinkSocket) -> Void) {
        self.fd = fd
        self.accepted = accepted
    }
}

extension LWSServer: LinkNetwork {
    public func listenForLinks(host: String, port: Int, accepted: @escaping (any LinkSocket) -> Void) -> String? {
        guard var address = LinkSocketAddress(host: host, port: port) else { return "\(host) is not an IPv4 or IPv6 address" }
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return "cannot open a socket: \(String(cString: strerror(errno)))" }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let code = address.withSockaddr { address, length -> Int32 in
            Glibc.bind(fd, address, length) == 0 && listen(fd, SOMAXCONN) == 0 ? 0 : errno
        }
        guard code == 0 else {
            Glibc.close(fd)
            return code == EADDRINUSE
                ? "port \(port) on \(host) is already in use" : code == EADDRNOTAVAIL ? "\(host) is not an address of this machine" : String(cString: strerror(code))
        }
        let listener = LinkListener(fd: fd, accepted: accepted)
        guard let watch = watchDescriptor(fd, readable: { [unowned self, listener] in self.acceptLinks(listener) }, closed: {}) else {
            Glibc.close(fd)
            return "libwebsockets would not poll the listening socket"
        }
        listener.watch = watch
        linkListeners.append(listener)
        return nil
    }

    /// How long written link data may go unacknowledged before the connection fails (TCP_USER_TIMEOUT).
    static let linkUserTimeoutMilliseconds: UInt32 = 5_000

    public func connectLink(host: String, port: Int) -> (any LinkSocket)? {
        guard var address = LinkSocketAddress(host: host, port: port) else { return nil }
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return nil }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        // A peer that stops acknowledging (cut off, frozen) ends the link within this rather than after the
        // kernel's retransmissions (about 15 minutes): the link's unwritten messages then go through the broker.
        var unacknowledged = Self.linkUserTimeoutMilliseconds
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_USER_TIMEOUT, &unacknowledged, socklen_t(MemoryLayout<UInt32>.size))
        let result = address.withSockaddr { address, length -> Int32 in
            Glibc.connect(fd, address, length) == 0 ? 0 : errno
        }
        guard result == 0 || result == EINPROGRESS else {
            Glibc.close(fd)
            return nil
        }
        let socket = LinkDescriptorSocket(fd: fd, peerAddress: LinkSocketAddress.text(host: host, port: port), connecting: true)
        return socket.attach(to: self) ? socket : nil
    }

    private func acceptLinks(_ listener: LinkListener) {
        for _ in 0..<LinkListener.acceptsPerWake {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let (connection, code) = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { address -> (Int32, Int32) in
                    let connection = accept(listener.fd, address, &length)
                    return (connection, connection < 0 ? errno : 0)
                }
            }
            guard connection >= 0 else {
                if code == EAGAIN || code == EWOULDBLOCK { return }
                if ReusePortListener.afterFailure(code) == .next { continue }
                log.limited(.error, cause: "link-accept-failed", source: "node-link", "node link: accept failed (\(String(cString: strerror(code))))")
                return
            }
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            _ = fcntl(connection, F_SETFL, fcntl(connection, F_GETFL) | O_NONBLOCK)
            var one: Int32 = 1
            setsockopt(connection, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let socket = LinkDescriptorSocket(fd: connection, peerAddress: LinkSocketAddress.describe(storage), connecting: false)
            if socket.attach(to: self) { listener.accepted(socket) }
        }
    }
}

/// A numeric address and port as the socket calls take them.
struct LinkSocketAddress {
    private var storage = sockaddr_storage()
    private(set) var length: socklen_t = 0
    let family: Int32

    init?(host: String, port: Int) {
        guard (1...65_535).contains(port) else { return nil }
        if host.contains(":") {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else { return nil }
            family = AF_INET6
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeBytes(of: address) { bytes in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) } }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return nil }
            family = AF_INET
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeBytes(of: address) { bytes in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) } }
        }
    }

    mutating func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        let length = length
        return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) } }
    }

    static func text(host: String, port: Int) -> String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The address an accepted connection came from, as text.
    static func describe(_ storage: sockaddr_storage) -> String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        if storage.ss_family == sa_family_t(AF_INET6) {
            var v6 = withUnsafeBytes(of: storage) { $0.loadUnaligned(as: sockaddr_in6.self) }
            inet_ntop(AF_INET6, &v6.sin6_addr, &text, socklen_t(text.count))
            return Self.text(host: cText(text), port: Int(UInt16(bigEndian: v6.sin6_port)))
        }
        var v4 = withUnsafeBytes(of: storage) { $0.loadUnaligned(as: sockaddr_in.self) }
        inet_ntop(AF_INET, &v4.sin_addr, &text, socklen_t(text.count))
        return Self.text(host: cText(text), port: Int(UInt16(bigEndian: v4.sin_port)))
    }
}

/// `--node-link`'s host as a numeric address: the node listens there and announces it, so the other
/// nodes connect without a name lookup on their service thread. At start (a lookup may block).
public enum LinkHostResolver {
    /// The numeric address `host` names (itself when numeric); nil when it names none, or only the
    /// unspecified address (0.0.0.0, ::), which other nodes could not connect to.
    public static func numeric(_ host: String) -> String? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(result) }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            defer { entry = current.pointee.ai_next }
            guard let address = current.pointee.ai_addr else { continue }
            if current.pointee.ai_family == AF_INET {
                var ip = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                guard ip.s_addr != 0, inet_ntop(AF_INET, &ip, &text, socklen_t(text.count)) != nil else { continue }
                return cText(text)
            }
            if current.pointee.ai_family == AF_INET6 {
                var ip = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                let unspecified = withUnsafeBytes(of: ip) { $0.allSatisfy { $0 == 0 } }
                guard !unspecified, inet_ntop(AF_INET6, &ip, &text, socklen_t(text.count)) != nil else { continue }
                return cText(text)
            }
        }
        return nil
    }
}

/// The text before the first NUL of a C buffer.
private func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
