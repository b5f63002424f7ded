#if canImport(Glibc)
import Glibc
#endif
import CLibWebSockets

/// Drives N WebSocket clients from one lws client context on one thread, so the load generator
/// itself costs little CPU per message.
final class BenchClient {
    enum Mode: String, CaseIterable { case rtt, idle, fanout }

    struct Settings {
        var host: String
        var port: Int
        var path: String
        var clients: Int
        var durationSeconds: Double
        var mode: Mode
        /// For fanout: the server's reminder interval, so boundaries can be computed here.
        var reminderIntervalSeconds: Int64
        var connectTimeoutSeconds: Double = 30
    }

    let settings: Settings
    private var context: OpaquePointer?
    private let protocols: UnsafeMutablePointer<lws_protocols>
    private let protocolName = strdup("quench-bench")!
    private var connections: [BenchConnection] = []
    private var nextToConnect = 0
    private var connecting = 0
    private(set) var connectedCount = 0
    private(set) var failures: [String] = []
    private(set) var failureCount = 0
    private(set) var latencies = LatencySamples()
    private(set) var connectTimes = LatencySamples()
    private(set) var replies = 0
    private(set) var repliesInWindow = 0
    /// Reminder lag per boundary: wall ns from the boundary to each arrival.
    private(set) var reminderLags: [Int64: LatencySamples] = [:]
    private var measuring = false
    private var finished = false
    private(set) var allConnectedAt: Int64?
    private(set) var windowStart: Int64 = 0
    private(set) var windowEnd: Int64 = 0
    private var writeBuffer = [UInt8](repeating: 0, count: 4096)
    private let headroom = Int(clws_pre())
    /// Called once when every client is connected (or connecting gave up), to start the measured window.
    var onAllConnected: (() -> Void)?

    init(settings: Settings) {
        self.settings = settings
        protocols = .allocate(capacity: 2)
        protocols.initialize(repeating: lws_protocols(), count: 2)
        protocols[0].name = UnsafePointer(protocolName)
        protocols[0].callback = benchCallback
        protocols[0].per_session_data_size = 0
        protocols[0].rx_buffer_size = 0
    }

    func run() -> Bool {
        lws_set_log_level(LLL_ERR, nil)
        var info = lws_context_creation_info()
        info.port = CONTEXT_PORT_NO_LISTEN
        info.protocols = UnsafePointer(protocols)
        info.user = Unmanaged.passUnretained(self).toOpaque()
        // fd_limit_per_thread stays 0: lws then sizes its fd table from RLIMIT_NOFILE (raised at start-up) and
        // finds a socket's wsi by direct index. Setting it makes lws 4.1 scan the whole table linearly on every
        // event (`wsi_from_fd`), which made connecting 15,000 clients quadratic.
        info.gid = -1
        info.uid = -1
        guard let created = lws_create_context(&info) else { return false }
        context = created
        connections = (0..<settings.clients).map { BenchConnection(index: $0, client: self) }
        connectMore()
        let deadline = Clock.monotonic() + Int64(settings.connectTimeoutSeconds * 1e9)
        while !finished, lws_service(created, 0) >= 0 {
            armTick(created)
            if allConnectedAt == nil, Clock.monotonic() > deadline {
                fail(nil, "gave up connecting after \(settings.connectTimeoutSeconds)s with \(connectedCount)/\(settings.clients) connected")
                startWindow()
            }
            if measuring, Clock.monotonic() >= windowEnd { finish() }
        }
        lws_context_destroy(created)
        context = nil
        tick.deallocate()
        return true
    }

    // MARK: Connecting

    /// Keeps a bounded number of handshakes in flight, so a thousand clients do not SYN-flood the server.
    private func connectMore() {
        guard let context else { return }
        while connecting < 128, nextToConnect < connections.count {
            let connection = connections[nextToConnect]
            nextToConnect += 1
            connecting += 1
            connection.startedAt = Clock.monotonic()
            var info = lws_client_connect_info()
            let hostHeader = "\(settings.host):\(settings.port)"
            let path = "\(settings.path)?EIO=4&transport=websocket"
            settings.host.withCString { address in
                hostHeader.withCString { host in
                    path.withCString { pathChars in
                        info.context = context
                        info.address = address
                        info.port = Int32(settings.port)
                        info.path = pathChars
                        info.host = host
                        info.origin = host
                        info.ietf_version_or_minus_one = -1
                        info.local_protocol_name = UnsafePointer(protocolName)
                        info.userdata = Unmanaged.passUnretained(connection).toOpaque()
                        connection.wsi = lws_client_connect_via_info(&info)
                    }
                }
            }
            if connection.wsi == nil {
                connecting -= 1
                fail(connection, "connect failed at once")
            }
        }
    }

    func connected(_ connection: BenchConnection) {
        connecting -= 1
        connectedCount += 1
        connectTimes.add(Clock.monotonic() - connection.startedAt)
        connectMore()
        if measuring {
            // A late joiner (the window started without it after a failure): put it to work too.
            if settings.mode == .rtt { connection.sendNextMessage() }
        } else if connectedCount + failureCount >= settings.clients {
            startWindow()
        }
    }

    private func startWindow() {
        guard allConnectedAt == nil else { return }
        allConnectedAt = Clock.monotonic()
        windowStart = Clock.monotonic()
        windowEnd = windowStart + Int64(settings.durationSeconds * 1e9)
        measuring = true
        onAllConnected?()
        if settings.mode == .rtt {
            for connection in connections where connection.state == .ready { connection.sendNextMessage() }
        }
    }

    /// lws_service sleeps until an event or a timer; this tick timer (a no-op callback) makes sure the
    /// loop looks at the clock at least every 100 ms, so deadlines are noticed on an idle connection set.
    private let tick: UnsafeMutablePointer<lws_sorted_usec_list_t> = {
        let timer = UnsafeMutablePointer<lws_sorted_usec_list_t>.allocate(capacity: 1)
        timer.initialize(to: lws_sorted_usec_list_t())
        return timer
    }()
    private var nextTickAt: Int64 = 0

    private func armTick(_ context: OpaquePointer) {
        let now = Clock.monotonic()
        guard now >= nextTickAt else { return }
        nextTickAt = now + 100_000_000
        lws_sul_schedule(context, 0, tick, { _ in }, 100_000)
    }

    private func finish() {
        measuring = false
        finished = true
        if let context { lws_cancel_service(context) }
    }

    // MARK: Events from connections

    func replied(_ connection: BenchConnection, latency: Int64) {
        replies += 1
        if measuring {
            repliesInWindow += 1
            latencies.add(latency)
            connection.sendNextMessage()
        }
    }

    func reminderArrived(_ connection: BenchConnection, frame: UnsafeRawBufferPointer) {
        guard settings.reminderIntervalSeconds > 0 else { return }
        let now = Clock.wall()
        let interval = settings.reminderIntervalSeconds * 1_000_000_000
        let boundary = now / interval * interval
        reminderLags[boundary, default: LatencySamples()].add(now - boundary)
    }

    func fail(_ connection: BenchConnection?, _ reason: String) {
        failureCount += 1
        if failures.count < 5 { failures.append((connection.map { "client \($0.index): " } ?? "") + reason) }
        if let connection, connection.state != .closed {
            if connection.state != .ready { connecting -= 1 }
            connection.state = .closed
            connectMore()
        }
        if allConnectedAt == nil, connectedCount + failureCount >= settings.clients { startWindow() }
    }

    func closed(_ connection: BenchConnection, reason: String) {
        guard connection.state != .closed, !finished else { return }
        fail(connection, reason)
    }

    func write(_ frame: [UInt8], to wsi: OpaquePointer) -> Int {
        if writeBuffer.count < headroom + frame.count { writeBuffer = [UInt8](repeating: 0, count: headroom + frame.count) }
        return writeBuffer.withUnsafeMutableBytes { buffer in
            let payload = buffer.baseAddress! + headroom
            frame.withUnsafeBytes { payload.copyMemory(from: $0.baseAddress!, byteCount: frame.count) }
            return Int(lws_write(wsi, payload.assumingMemoryBound(to: UInt8.self), frame.count, LWS_WRITE_TEXT))
        }
    }
}

/// The bench's lws callback: finds the connection through the per-connection user pointer.
func benchCallback(
    _ wsi: OpaquePointer?, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
    _ input: UnsafeMutableRawPointer?, _ length: Int
) -> Int32 {
    guard let wsi, let user else { return 0 }
    switch reason {
    case LWS_CALLBACK_CLIENT_RECEIVE, LWS_CALLBACK_CLIENT_WRITEABLE, LWS_CALLBACK_CLIENT_CONNECTION_ERROR,
        LWS_CALLBACK_CLIENT_CLOSED, LWS_CALLBACK_CLIENT_ESTABLISHED:
        break
    default:
        return 0
    }
    let connection = Unmanaged<BenchConnection>.fromOpaque(user).takeUnretainedValue()
    switch reason {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        connection.wsi = wsi
    case LWS_CALLBACK_CLIENT_RECEIVE:
        connection.received(UnsafeRawBufferPointer(start: input, count: length),
            final: lws_is_final_fragment(wsi) != 0 && lws_remaining_packet_payload(wsi) == 0)
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return connection.writable()
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        let text = input.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? "connection error"
        connection.client.closed(connection, reason: text)
    case LWS_CALLBACK_CLIENT_CLOSED:
        connection.client.closed(connection, reason: "closed by server")
    default:
        break
    }
    return 0
}
