#if canImport(Glibc)
import Glibc
#endif
import CLibWebSockets
import EngineIO

/// `--reuse-port`: the listening socket is quench's own, with SO_REUSEPORT, so that several quench
/// processes listen on one address and port and the kernel spreads new connections among them.
///
/// Why not lws's listener: lws 4.1 sets SO_REUSEPORT only with more than one service thread (lws
/// #2470, fixed in 4.3.3), and quench has one. So the context is made without a listener
/// (`CONTEXT_PORT_NO_LISTEN_SERVER`: the vhost, its mounts and its TLS context as usual), the socket is
/// adopted as a raw descriptor so that the one service loop polls it, and each connection accepted is
/// handed to lws as its own listener would (`lws_adopt_socket_vhost`: HTTP, TLS when on), the pattern
/// of lws #2823. What lws's listener does at accept is done here too: the descriptor limit through the
/// same ``LWSServer/admitConnection(listener:)`` and its per-close re-admission, and TCP_NODELAY. Unlike
/// it, at most ``acceptsPerWake`` connections are taken per turn of the loop.
///
/// One per server, made in ``LWSServer/start()``; its socket belongs to lws once adopted (lws closes it
/// with the wsi, at the stop or with the context). Service thread.
final class ReusePortListener {
    /// Connections taken per wake-up at most; the rest are taken on the next turns, so a burst of new
    /// connections cannot keep the loop from serving the ones it has.
    static let acceptsPerWake = 32
    /// How long accepting pauses after `accept()` failed for want of descriptors or memory, unless a
    /// connection closes first.
    static let retryAfterFailureMicroseconds: Int64 = 1_000_000

    /// The listening socket.
    let fd: Int32
    /// lws's connection for ``fd`` while it is adopted; nil before and once it closed.
    var wsi: OpaquePointer?
    /// Brings the listener back after a failed `accept()`.
    var retryTimer: LWSTimer?

    init(fd: Int32) { self.fd = fd }

    /// What to do after `accept()` failed with `code`.
    enum AfterFailure: Equatable {
        /// Nothing is waiting any more: done for this wake-up.
        case drained
        /// This one connection failed (reset or aborted before it was taken): go on with the next.
        case next
        /// The process or the system is out of descriptors or memory: stop polling the socket for a
        /// while (level-triggered poll would report it again at once: a busy loop), with a log line.
        case pause
    }

    static func afterFailure(_ code: Int32) -> AfterFailure {
        switch code {
        case EAGAIN, EWOULDBLOCK: return .drained
        // accept(2): errors of the new connection itself (Linux passes its pending network errors on), or a signal.
        case EINTR, ECONNABORTED, EPROTO, EPERM, ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH, EOPNOTSUPP, ENETUNREACH, ETIMEDOUT:
            return .next
        default: return .pause
        }
    }
}

extension LWSServer {
    /// Binds the shared port (before the context is made, so that a port held without SO_REUSEPORT is the
    /// same one line as without `--reuse-port`).
    func bindReusePort() throws(LWSServerError) {
        switch ListenCheck.bind(host: configuration.host, port: configuration.port, reusePort: true) {
        case .success(let fd): reusePortListener = ReusePortListener(fd: fd)
        case .failure(let problem): throw problem
        }
    }

    /// Listens on the bound socket and hands it to the context's service loop. After the context is made.
    func adoptReusePort(context: OpaquePointer) throws(LWSServerError) {
        guard let listener = reusePortListener else { return }
        let problem: String?
        if listen(listener.fd, SOMAXCONN) != 0 {
            problem = "listen: \(String(cString: strerror(errno)))"
        } else if let vhost = lws_get_vhost_by_name(context, "default") {
            var descriptor = lws_sock_file_fd_type()
            descriptor.filefd = listener.fd
            // No protocol name: lws binds a raw descriptor to protocols[0], whose callback takes RAW_RX_FILE.
            listener.wsi = lws_adopt_descriptor_vhost(vhost, LWS_ADOPT_RAW_FILE_DESC, descriptor, nil, nil)
            problem = listener.wsi == nil ? "libwebsockets would not poll the listening socket" : nil
        } else {
            problem = "libwebsockets made no default vhost"
        }
        guard let problem else {
            // lws announced the listener as a connection (WSI_CREATE); it is not one (``reusePortListenerClosed(_:)``).
            openConnections -= 1
            return
        }
        discardReusePort()
        throw LWSServerError("cannot listen on \(configuration.host):\(configuration.port) with --reuse-port: \(problem)")
    }

    /// Closes a socket lws never took (the context or the adoption failed).
    func discardReusePort() {
        guard let listener = reusePortListener else { return }
        close(listener.fd)
        reusePortListener = nil
    }

    /// LWS_CALLBACK_RAW_RX_FILE: connections wait on the listening socket. Takes them, up to
    /// ``ReusePortListener/acceptsPerWake``, each admitted as lws's listener admits them.
    func acceptOnReusePort(_ wsi: OpaquePointer) -> Int32 {
        guard let listener = reusePortListener, listener.wsi == wsi, let vhost = lws_get_vhost(wsi) else { return 0 }
        for _ in 0..<ReusePortListener.acceptsPerWake {
            // (accept4 is not in Swift's Glibc: close-on-exec is set apart, and lws makes the socket non-blocking.)
            let connection = accept(listener.fd, nil, nil)
            guard connection >= 0 else {
                let code = errno
                switch ReusePortListener.afterFailure(code) {
                case .drained: return 0
                case .next: continue
                case .pause:
                    pauseReusePort(listener, wsi: wsi, because: code)
                    return 0
                }
            }
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            var one: Int32 = 1
            setsockopt(connection, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            // What admitConnection decides (AcceptLimit pauses at pauseAt connections), known before it pauses.
            let atLimit = openConnections >= acceptLimit.pauseAt
            _ = admitConnection(listener: wsi)
            // lws owns the socket from here: it closes it itself if it cannot take it (and says why in its log).
            if lws_adopt_socket_vhost(vhost, connection) == nil {
                log.limited(
                    .info, cause: "adopt-failed", source: "listener",
                    "reuse-port: libwebsockets did not take a new connection (a TLS handshake that failed at once, or no room); closed")
            }
            // At the descriptor limit: the rest wait in the listen queue (the pause applies when this callback returns).
            if atLimit { return 0 }
        }
        return 0
    }

    /// `accept()` failed for want of a resource: no polling of the socket until a connection closes or
    /// ``ReusePortListener/retryAfterFailureMicroseconds`` pass.
    private func pauseReusePort(_ listener: ReusePortListener, wsi: OpaquePointer, because code: Int32) {
        log.limited(
            .error, cause: "accept-failed", source: "listener",
            "reuse-port: accept failed (\(String(cString: strerror(code)))) with \(openConnections) connections; not accepting for a second or until one closes")
        lws_rx_flow_control(wsi, 0)
        pausedListener = wsi
        guard let context else { return }
        let timer = listener.retryTimer ?? LWSTimer(context: context) { [unowned self] in self.reusePortConnectionClosed() }
        listener.retryTimer = timer
        timer.schedule(inMicroseconds: ReusePortListener.retryAfterFailureMicroseconds)
    }

    /// A connection closed (or the retry timer fired): lws puts its own listener back into the poll set
    /// whenever a connection closes, so that at the descriptor limit each close lets one more client in;
    /// the same for this one while it is paused. The episode's end is ``LWSCallback``'s as before.
    func reusePortConnectionClosed() {
        guard let wsi = reusePortListener?.wsi, pausedListener == wsi else { return }
        lws_rx_flow_control(wsi, 1)
        // A pause for a failed accept ends here; one at the descriptor limit ends with its episode, as lws's does.
        if !acceptLimit.paused { pausedListener = nil }
    }

    /// LWS_CALLBACK_RAW_CLOSE_FILE: lws closes the listening socket (at the stop, or with the context);
    /// WSI_DESTROY follows, which must not count a connection gone.
    func reusePortListenerClosed(_ wsi: OpaquePointer) {
        guard let listener = reusePortListener, listener.wsi == wsi else { return }
        listener.wsi = nil
        listener.retryTimer = nil
        if pausedListener == wsi { pausedListener = nil }
        openConnections += 1
    }

    /// When a stop begins: the socket is closed, so the kernel gives new connections to the other
    /// processes on the port rather than to this one, which would turn them away. Connections already
    /// waiting in its queue are reset (the kernel does not move them); their clients reconnect.
    func closeReusePort() {
        guard let wsi = reusePortListener?.wsi else { return }
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC)
    }
}
