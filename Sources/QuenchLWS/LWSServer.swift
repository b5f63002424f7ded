import CLibWebSockets
import EngineIO
import Glibc

/// The libwebsockets server: one context, one service thread, any number of Engine.IO endpoints
/// (each on its own path), plus plain HTTP pages.
///
/// Everything here runs on the thread that calls ``run()`` (set-up before it, ``start()`` included, on the
/// thread that creates the server), except ``executor``, ``requestStop()`` and ``requestCertificateReload()``,
/// which any thread may use: they only post to the ``ServiceInbox`` (its own locks). Hence `@unchecked
/// Sendable`: all other state is confined to the service thread.
public final class LWSServer: @unchecked Sendable {
    /// One Engine.IO server mounted at a path. A class: every request looks its endpoint up, and copying
    /// a reference is one retain where copying the fields was four.
    final class Endpoint {
        let path: String
        let engine: EngineServer
        let clock: MonotonicClock
        /// `path`'s bytes, compared with every request's path (``endpoint(for:)``).
        let pathBytes: [UInt8]

        init(path: String, engine: EngineServer, clock: MonotonicClock) {
            self.path = path
            self.engine = engine
            self.clock = clock
            pathBytes = Array(path.utf8)
        }
    }

    public let configuration: LWSServerConfiguration
    public var log: Logger { configuration.log }
    /// Posts work onto the service thread; the only way in for other threads.
    public var executor: any ServiceExecutor { inbox }
    /// Answers plain HTTP requests outside every engine path (the built-in page, static files); nil → 404.
    public var pageHandler: ((HTTPRequest) -> HTTPResponse)?
    /// Runs on the service thread when a stop begins, before sessions are closed (Socket.IO says goodbye here).
    public var willStop: (() -> Void)?
    /// While it answers true, a stop keeps serving (within the stop's deadline, 3 s when this is set) after the sockets closed:
    /// connection state recovery waits for its handover to come back on the message queue. Service thread.
    public var holdsStop: (() -> Bool)?
    /// Builds the `/metrics` page on the service thread for each scrape; nil serves no `/metrics` (``serviceResponse(_:)``).
    /// Set before ``start()``, which mounts the path ahead of `--static`.
    public var metricsPage: (() -> [UInt8])?
    /// What the binding itself counts (refused requests by status), for `/metrics`. Service thread.
    public internal(set) var counters = LWSCounters()
    /// Timers of ``repeatEvery(milliseconds:_:)``, cancelled before the context goes.
    var repeatingTimers: [RepeatingTimer] = []
    /// Set when a stop with a drain time begins (``requestStop(drainingFor:)``): `/healthz` says 503
    /// while clients are still served, until ``drainTimer`` starts the stop itself.
    public internal(set) var isDraining = false
    var drainTimer: LWSTimer?

    let inbox = ServiceInbox()
    private(set) var endpoints: [Endpoint] = []
    private(set) var context: OpaquePointer?
    private let protocols: UnsafeMutablePointer<lws_protocols>
    private let protocolName: UnsafeMutablePointer<CChar>
    private(set) var stopping = false
    private var stopDeadlinePassed = false
    private var stopTimer: LWSTimer?
    /// The static-file and callback mounts handed to lws (with `--static`); they outlive the context.
    private(set) var mounts: LWSMounts?
    /// Open WebSockets, so a stop can wait for their close frames to leave.
    var openWebSockets = 0
    /// HTTP responses given during the current lws service turn, written when it returns
    /// (``flushHTTPResponses()``); a stop waits for them too.
    var queuedHTTPResponses: [LWSHTTPExchange] = []
    /// Every connection lws holds (HTTP or WebSocket), from `WSI_CREATE` to `WSI_DESTROY`: the file
    /// descriptors in use, which is what the connection limit protects.
    var openConnections = 0
    /// The per-header size limit for every header lws knows (``HeaderLimits``); lws keeps the pointer.
    private let tokenLimits = HeaderLimits.makeTokenLimits()
    /// Keep-alive connections whose next request lws has buffered already (the client pipelined): that
    /// request is parsed from lws's buffer, and one with a body is refused (``refusalOfBodyBearing(wsi:request:pipelined:)``).
    var connectionsWithBufferedRequest = Set<OpaquePointer>()
    /// Keep-alive connections waiting for their next request, watched by quench instead of lws's timeout
    /// list (``awaitNextRequest(on:after:)``): the exchanges of their last requests, linked oldest first
    /// without counting references (each connection keeps its exchange), and the sweep that closes them.
    unowned(unsafe) var idleOldest: LWSHTTPExchange?
    unowned(unsafe) var idleNewest: LWSHTTPExchange?
    var keepAliveSweep: LWSTimer?
    /// The look at dropped queues' memory a second after a drop (``returnDroppedMemory(of:)``).
    var memoryReturn: LWSTimer?
    var keepAliveSweepArmed = false
    /// Connections closed before their first request's headers arrived, logged in bursts (``LWSAwaitingRequest``).
    var headerTimeoutLog = LogThrottle(intervalMilliseconds: 10_000)
    /// C strings lws points to for the context's whole life (interface, certificate paths, ALPN); freed in deinit.
    private var keptStrings: [UnsafeMutablePointer<CChar>] = []
    /// The certificate and key paths as lws holds them; a reload names the vhosts to update by these.
    private(set) var keptCertificatePath: UnsafeMutablePointer<CChar>?
    private(set) var keptKeyPath: UnsafeMutablePointer<CChar>?
    /// Set in deinit before the context is destroyed: the callbacks lws makes then must not reach the engines.
    private(set) var isTearingDown = false
    /// Set just before the context is destroyed (at the end of ``run()`` or in deinit): the descriptors it
    /// closes then (`--node-link`'s sockets) are not connections that broke.
    private(set) var isClosingContext = false
    /// When new connections are turned away for want of descriptors (one log line per episode). Service thread.
    var acceptLimit: AcceptLimit
    /// The listening socket's wsi while an ``acceptLimit`` episode has it paused (it lives as long as the context).
    var pausedListener: OpaquePointer?
    /// With `--reuse-port`, the listening socket quench opened itself in place of lws's (``ReusePortListener``).
    var reusePortListener: ReusePortListener?
    /// Descriptors polled for code outside the binding (``EngineIO/DescriptorWatcher``), by wsi, while watched.
    var watchedDescriptors: [OpaquePointer: WatchedDescriptor] = [:]
    /// Every such wsi until lws closes it (also after its watch stopped): its close is not a connection's.
    var adoptedDescriptors: Set<OpaquePointer> = []
    /// `--node-link`'s listening socket (``LinkNetwork``); it lives as long as the process.
    var linkListeners: [LinkListener] = []
    /// Scratch space for lws_write: LWS_PRE bytes of headroom, then the payload. Grows for a large write
    /// and shrinks back to ``baseWriteCapacity`` at the next write that uses far less (see ``ensureWriteCapacity(_:)``).
    private var writeBuffer: UnsafeMutableRawBufferPointer
    /// The scratch buffer's resting size: every ordinary reply fits.
    static let baseWriteCapacity = 64 * 1024
    private let headroom = Int(clws_pre())

    /// Prepares a server; ``start()`` binds the port once the engines are mounted.
    public init(configuration: LWSServerConfiguration) {
        self.configuration = configuration
        acceptLimit = AcceptLimit(pauseAt: configuration.acceptPauseConnections)
        writeBuffer = .allocate(byteCount: Self.baseWriteCapacity, alignment: 16)
        protocolName = strdup("quench")!
        protocols = .allocate(capacity: 2)
        protocols.initialize(repeating: lws_protocols(), count: 2)
        protocols[0].name = UnsafePointer(protocolName)
        protocols[0].callback = lwsCallback
        // lws allocates (and zeroes) this again at every protocol bind, each keep-alive request included, and
        // quench keeps its state on the opaque pointer (LWSPeer); but with none at all, a close lws starts
        // itself (invalid UTF-8, a reserved opcode) no longer ends the session at once, and reminders
        // followed lws's close frame (test_close_frames.py).
        protocols[0].per_session_data_size = MemoryLayout<UnsafeMutableRawPointer?>.size
        // Each WebSocket keeps a receive buffer this size for its life (resident once a message came), and lws
        // reads at most this much from it per turn of the service loop, each turn a poll of every descriptor.
        // lws's default, 4 KiB: 1 KiB took 3 KiB off an idle session, but a 900 KB message beside 5,000 idle
        // clients took 2-3x as long to arrive, and a client streaming large frames cost the server a poll of
        // every descriptor per KiB. (lws also caps each send at this unless tx_packet_size says otherwise.)
        protocols[0].rx_buffer_size = 0
    }

    /// Binds the port and creates the lws context; nothing is served until ``run()``.
    /// - Throws: ``LWSServerError`` with one line naming the problem (port in use, bad address, TLS files).
    public func start() throws(LWSServerError) {
        precondition(context == nil, "start() is called once")
        if let tls = configuration.tls, let problem = TLSCheck.verify(tls) { throw problem }
        if configuration.reusePort {
            try bindReusePort()
        } else if let problem = ListenCheck.verify(host: configuration.host, port: configuration.port) {
            throw problem
        }
        LWSLogBridge.install(configuration.log)
        mounts = configuration.staticDirectory.map { LWSMounts(directory: $0, callbackPaths: endpoints.map(\.path) + servicePaths, protocolName: protocolName) }

        var info = lws_context_creation_info()
        // With --reuse-port lws listens nowhere; connections come from ``ReusePortListener``.
        info.port = configuration.reusePort ? CONTEXT_PORT_NO_LISTEN_SERVER : Int32(configuration.port)
        info.protocols = UnsafePointer(protocols)
        info.mounts = mounts?.head
        info.options = UInt64(LWS_SERVER_OPTION_VALIDATE_UTF8)
        info.max_http_header_data2 = UInt32(HeaderLimits.total)
        // A header area is attached at accept, with this timeout over the whole request head (not per byte).
        info.timeout_secs_ah_idle = UInt32(max(configuration.headerTimeoutSeconds, 1))
        info.token_limits = UnsafePointer(tokenLimits)
        info.gid = -1
        info.uid = -1
        info.user = Unmanaged.passUnretained(self).toOpaque()
        // With IPv6 on, lws binds an IPv4 address dual-stack on every interface: 127.0.0.1 would not
        // mean loopback only. An IPv4 host (0.0.0.0 included) therefore turns IPv6 off.
        if !configuration.host.contains(":") { info.options |= UInt64(LWS_SERVER_OPTION_DISABLE_IPV6) }
        // lws keeps these pointers for the context's life (the interface for every vhost it creates,
        // the ALPN list for each TLS handshake): copies we own, freed in deinit after the context.
        if configuration.host != "0.0.0.0" { info.iface = UnsafePointer(keep(configuration.host)) }
        if let tls = configuration.tls {
            info.options |= UInt64(LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT)
            keptCertificatePath = keep(tls.certificate)
            keptKeyPath = keep(tls.privateKey)
            info.ssl_cert_filepath = UnsafePointer(keptCertificatePath)
            info.ssl_private_key_filepath = UnsafePointer(keptKeyPath)
            // HTTP/2 would need separate header and body writes; Engine.IO gains nothing from it.
            info.alpn = UnsafePointer(keep("http/1.1"))
        }
        LWSLogBridge.hold()
        let created = lws_create_context(&info)
        let lwsLines = LWSLogBridge.release(logging: created != nil)
        guard let created else {
            discardReusePort()
            throw Self.explainFailure(lwsLines, configuration)
        }
        context = created
        keepAliveSweep = LWSTimer(context: created) { [unowned self] in self.sweepIdleConnections() }
        for endpoint in endpoints {
            let engine = endpoint.engine
            endpoint.clock.attach(context: created) { [unowned engine] in engine.fireTimers() }
        }
        inbox.open(context: created, log: log)
        try adoptReusePort(context: created)
    }

    /// A copy of `text` that lives until the server does.
    private func keep(_ text: String) -> UnsafeMutablePointer<CChar> {
        let copy = strdup(text)!
        keptStrings.append(copy)
        return copy
    }

    /// One line for a context that would not start, from what lws said on the way.
    static func explainFailure(_ lines: [String], _ configuration: LWSServerConfiguration) -> LWSServerError {
        if let tls = configuration.tls {
            if lines.contains(where: { $0.contains("key values mismatch") }) {
                return LWSServerError("--tls-key \(tls.privateKey) is not the private key of --tls-cert \(tls.certificate)")
            }
            if lines.contains(where: { $0.contains("problem getting cert") || $0.contains("certificate") && $0.contains("problem") }) {
                return LWSServerError("--tls-cert \(tls.certificate) is not a readable PEM certificate")
            }
            if lines.contains(where: { $0.contains("problem getting key") }) {
                return LWSServerError("--tls-key \(tls.privateKey) is not a readable PEM private key")
            }
        }
        let cause = lines.last(where: { !$0.isEmpty }) ?? "no reason given"
        return LWSServerError("cannot start on \(configuration.host):\(configuration.port): \(cause)")
    }

    /// A server dropped while its context is live (started, never run): the context goes first, with
    /// ``isTearingDown`` set so that the callbacks lws makes on the way (one per connection) touch
    /// nothing of this half-deinitialized object; then the memory lws pointed into.
    deinit {
        if let context {
            isTearingDown = true
            isClosingContext = true
            for endpoint in endpoints { endpoint.clock.detach() }
            for timer in repeatingTimers { timer.cancel() }
            stopTimer = nil
            drainTimer = nil
            keepAliveSweep = nil
            // The connections' objects are released below without being told: none may stay linked.
            forgetEveryIdleConnection()
            memoryReturn = nil
            reusePortListener?.retryTimer = nil
            inbox.close()
            lws_context_destroy(context)
        }
        for string in keptStrings { free(string) }
        tokenLimits.deallocate()
        free(protocolName)
        protocols.deallocate()
        writeBuffer.deallocate()
    }

    /// Mounts a new Engine.IO server at `configuration.path`. Before ``start()``.
    public func addEngine(configuration engineConfiguration: EngineConfiguration) -> EngineServer {
        precondition(context == nil, "engines are added before start()")
        let clock = MonotonicClock()
        let engine = EngineServer(configuration: engineConfiguration, clock: clock, log: log)
        endpoints.append(Endpoint(path: engineConfiguration.path, engine: engine, clock: clock))
        return engine
    }

    /// The endpoint serving `path` (the longest matching prefix, or the path without its last `/`), if
    /// any. Bytes are compared with memcmp, and nothing is built: every request asks, a POST twice, and
    /// comparing `String`s cost a polling reply about 3% of its instructions.
    func endpoint(for path: String) -> Endpoint? {
        var path = path
        return path.withUTF8 { asked in
            var best: Endpoint?
            for endpoint in endpoints {
                let matches = endpoint.pathBytes.withUnsafeBufferPointer { served in
                    if asked.count >= served.count { return served.isEmpty || memcmp(asked.baseAddress!, served.baseAddress!, served.count) == 0 }
                    return served.count == asked.count + 1 && served[asked.count] == UInt8(ascii: "/")
                        && (asked.isEmpty || memcmp(asked.baseAddress!, served.baseAddress!, asked.count) == 0)
                }
                if matches, best == nil || endpoint.pathBytes.count > best!.pathBytes.count { best = endpoint }
            }
            return best
        }
    }

    // MARK: Running

    /// Serves until ``requestStop()``; then says goodbye to every client and returns within about a second.
    public func run() {
        guard let context else { preconditionFailure("run() needs start() first") }
        let scheme = configuration.tls == nil ? "http" : "https"
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        log.info("listening on \(scheme)://\(host):\(configuration.port) paths=\(endpoints.map(\.path).joined(separator: ","))")
        while lws_service(context, 0) >= 0 {
            if !queuedHTTPResponses.isEmpty { flushHTTPResponses() }
            if stopping, openWebSockets == 0 && holdsStop?() != true || stopDeadlinePassed { break }
        }
        for endpoint in endpoints { endpoint.clock.detach() }
        for timer in repeatingTimers { timer.cancel() }
        stopTimer = nil
        drainTimer = nil
        keepAliveSweep = nil
        memoryReturn = nil
        reusePortListener?.retryTimer = nil
        inbox.close()
        isClosingContext = true
        lws_context_destroy(context)
        self.context = nil
        log.info("stopped")
    }

    /// Any thread: begins a graceful stop (clients are told, sockets closed, ``run()`` returns).
    public func requestStop() {
        inbox.executeUrgent { [unowned self] in self.beginStop() }
    }

    private func beginStop() {
        guard !stopping, let context else { return }
        stopping = true
        log.info("stopping: closing \(endpoints.reduce(0) { $0 + $1.engine.sessionCount }) sessions")
        willStop?()
        closeReusePort()
        for endpoint in endpoints { endpoint.engine.closeAll(reason: .serverShutdown) }
        let timer = LWSTimer(context: context) { [unowned self] in self.stopDeadlinePassed = true }
        // A stop that waits for a handover (``holdsStop``) may take up to 3 s; otherwise 0.8 s.
        timer.schedule(inMicroseconds: holdsStop == nil ? 800_000 : 3_000_000)
        stopTimer = timer
        lws_cancel_service(context)
    }

    // MARK: Writing

    /// Writes `prefix` (if any) then `bytes`, with lws's headroom in front: the one copy every
    /// outgoing frame needs. Returns what lws_write returned.
    func write(_ bytes: [UInt8], prefix: UInt8? = nil, to wsi: OpaquePointer, mode: lws_write_protocol) -> Int {
        let length = bytes.count + (prefix == nil ? 0 : 1)
        ensureWriteCapacity(length)
        var cursor = writeBuffer.baseAddress! + headroom
        let start = cursor
        if let prefix {
            cursor.storeBytes(of: prefix, as: UInt8.self)
            cursor += 1
        }
        bytes.withUnsafeBytes { if let base = $0.baseAddress { cursor.copyMemory(from: base, byteCount: bytes.count) } }
        return Int(lws_write(wsi, start.assumingMemoryBound(to: UInt8.self), length, mode))
    }

    /// Writes a whole HTTP response (headers and body in one write; lws keeps what the kernel does not
    /// take). The transaction is completed apart (``completeTransaction(on:)``), once all of it is out.
    ///
    /// lws writes the status line (it knows the request's HTTP version and notes the status); the header
    /// lines after it are written here as lws would write them over HTTP/1.1, the only protocol quench
    /// serves (`name: value`, names lower-case): lws's per-header calls, and the `snprintf` behind its
    /// Content-Length, were a tenth of a polling reply's own cost.
    func writeHTTPResponse(_ response: HTTPResponse, to wsi: OpaquePointer) -> Int32 {
        var headerBytes = 256 + response.contentType.utf8.count
        for header in response.headers { headerBytes += header.name.utf8.count + header.value.utf8.count + 8 }
        ensureWriteCapacity(headerBytes + response.body.count)
        let start = (writeBuffer.baseAddress! + headroom).assumingMemoryBound(to: UInt8.self)
        var cursor = start
        if response.status == 200 {
            // Every polling answer: the line lws would write (quench sets no vhost headers for it to add),
            // without the snprintf lws formats it with, some 1,200 instructions a response.
            // An HTTP/1.0 client gets 1.1 here, as RFC 9110 section 2.5 lets a server answer.
            HTTPHeaderWriter.bytes("HTTP/1.1 200 OK\r\n", at: &cursor)
        } else {
            var lwsCursor: UnsafeMutablePointer<UInt8>? = cursor
            guard lws_add_http_header_status(wsi, UInt32(response.status), &lwsCursor, start + headerBytes) == 0, let advanced = lwsCursor else { return -1 }
            cursor = advanced
        }
        if response.status >= 400 { counters.refused(status: response.status) }
        HTTPHeaderWriter.line(name: "content-type", value: response.contentType, at: &cursor)
        for header in response.headers { HTTPHeaderWriter.line(name: header.name, value: header.value, at: &cursor) }
        HTTPHeaderWriter.contentLength(response.body.count, at: &cursor)
        HTTPHeaderWriter.bytes("\r\n", at: &cursor)
        response.body.withUnsafeBytes { body in
            if let base = body.baseAddress { UnsafeMutableRawPointer(cursor).copyMemory(from: base, byteCount: body.count) }
        }
        cursor += response.body.count
        let total = cursor - start
        return lws_write(wsi, start, total, LWS_WRITE_HTTP_HEADERS) == total ? 0 : -1
    }

    /// Makes room for a write of `payload` bytes (see ``scratchCapacity(current:needed:)``).
    private func ensureWriteCapacity(_ payload: Int) {
        guard let capacity = Self.scratchCapacity(current: writeBuffer.count, needed: payload + headroom) else { return }
        writeBuffer.deallocate()
        writeBuffer = .allocate(byteCount: capacity, alignment: 16)
    }

    /// The scratch buffer's new size for a write of `needed` bytes, or nil to keep `current`. It grows
    /// (doubling) for a larger write, is kept while large writes continue, and is given back as soon as a
    /// write needs an eighth of it or less than the resting size: a burst of 1 MB replies costs one
    /// allocation, and no connection's largest message stays allocated afterwards.
    static func scratchCapacity(current: Int, needed: Int) -> Int? {
        if needed > current { return max(needed, current * 2) }
        guard current > baseWriteCapacity, needed <= baseWriteCapacity || needed < current / 8 else { return nil }
        return max(needed, baseWriteCapacity)
    }
}
