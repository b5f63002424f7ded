import CBenchSystem
import CLibWebSockets

/// Drives N WebSocket clients from one lws client context on one thread, so the load generator
/// itself costs little CPU per message.
final class BenchClient: ClientPool<BenchConnection>, BenchDriver {
    private var context: OpaquePointer?
    private let protocols: UnsafeMutablePointer<lws_protocols>
    private let protocolName = strdup("quench-bench")!
    private var writeBuffer = [UInt8](repeating: 0, count: 4096)
    private let headroom = Int(clws_pre())

    override init(settings: BenchSettings) {
        protocols = .allocate(capacity: 2)
        protocols.initialize(repeating: lws_protocols(), count: 2)
        super.init(settings: settings)
        protocols[0].name = UnsafePointer(protocolName)
        protocols[0].callback = benchCallback
        protocols[0].per_session_data_size = 0
        protocols[0].rx_buffer_size = 0
    }

    func run() throws(BenchError) {
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
        if settings.tls { info.options |= UInt64(LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT) }
        guard let created = lws_create_context(&info) else { throw BenchError("could not create an lws client context") }
        context = created
        clients = (0..<settings.clients).map { BenchConnection(index: $0, client: self) }
        connectMore()
        let deadline = Clock.monotonic() + Int64(settings.connectTimeoutSeconds * 1e9)
        startTick(created)
        while !finished, lws_service(created, 0) >= 0 {
            checkDeadlines(connectDeadline: deadline)
        }
        lws_context_destroy(created)
        context = nil
        tick.deallocate()
    }

    // MARK: Connecting

    override func startConnecting(_ connection: BenchConnection) {
        guard let context else { return }
        var info = lws_client_connect_info()
        let hostHeader = "\(settings.host):\(settings.port)"
        let path = "\(settings.path)?EIO=4&transport=websocket"
        settings.bareHost.withCString { address in
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
                    if settings.tls {
                        info.ssl_connection = Int32(
                            LCCSCF_USE_SSL.rawValue | LCCSCF_ALLOW_SELFSIGNED.rawValue | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK.rawValue
                                | LCCSCF_ALLOW_EXPIRED.rawValue)
                    }
                    connection.wsi = lws_client_connect_via_info(&info)
                }
            }
        }
        if connection.wsi == nil { fail(connection, "connect failed at once") }
    }

    /// lws_service sleeps until an event or its next timer; this tick (a timer that only re-arms itself)
    /// makes the loop look at the clock at least every 100 ms, so deadlines are noticed on an idle
    /// connection set. It must re-arm from its own callback: lws runs ripe timers at the start of
    /// lws_service and then sleeps until the next one, so a tick re-armed only between calls was missed
    /// whenever it fired there, and an idle run slept on until the server's next ping (25 s).
    /// With `--think-ms` it ticks every millisecond, so a paced client's next message leaves on time.
    /// The memory holds the timer, then the context its callback needs, then the period; freed after the context.
    private let tick: UnsafeMutableRawPointer = {
        let memory = UnsafeMutableRawPointer.allocate(
            byteCount: tickPeriodOffset + MemoryLayout<lws_usec_t>.size, alignment: MemoryLayout<lws_sorted_usec_list_t>.alignment)
        memory.initializeMemory(as: lws_sorted_usec_list_t.self, repeating: lws_sorted_usec_list_t(), count: 1)
        return memory
    }()

    private func startTick(_ context: OpaquePointer) {
        tick.storeBytes(of: context, toByteOffset: tickContextOffset, as: OpaquePointer.self)
        let period = settings.thinkMilliseconds > 0 ? pacedTickMicroseconds : tickMicroseconds
        tick.storeBytes(of: period, toByteOffset: tickPeriodOffset, as: lws_usec_t.self)
        lws_sul_schedule(context, 0, tick.assumingMemoryBound(to: lws_sorted_usec_list_t.self), benchTick, period)
    }

    override func finish() {
        super.finish()
        if let context { lws_cancel_service(context) }
    }

    // MARK: Events from connections

    func closed(_ connection: BenchConnection, reason: String) {
        guard connection.state != .closed, !finished else { return }
        fail(connection, reason)
    }

    func write(_ frame: [UInt8], to wsi: OpaquePointer, binary: Bool = false) -> Int {
        if writeBuffer.count < headroom + frame.count { writeBuffer = [UInt8](repeating: 0, count: headroom + frame.count) }
        return writeBuffer.withUnsafeMutableBytes { buffer in
            let payload = buffer.baseAddress! + headroom
            frame.withUnsafeBytes { payload.copyMemory(from: $0.baseAddress!, byteCount: frame.count) }
            return Int(lws_write(wsi, payload.assumingMemoryBound(to: UInt8.self), frame.count, binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT))
        }
    }
}

/// Where the context sits in the tick's memory, after the timer.
private let tickContextOffset = MemoryLayout<lws_sorted_usec_list_t>.stride
/// Where the tick's period sits, after the context.
private let tickPeriodOffset = tickContextOffset + MemoryLayout<OpaquePointer>.stride
private let tickMicroseconds: lws_usec_t = 100_000
private let pacedTickMicroseconds: lws_usec_t = 1_000

/// The tick's callback, on the service thread: schedules the same timer again, with the context stored
/// just after it (lws unlinks a timer before calling it, so rescheduling here is allowed).
private func benchTick(_ timer: UnsafeMutablePointer<lws_sorted_usec_list_t>?) {
    guard let timer else { return }
    let context = UnsafeMutableRawPointer(timer).load(fromByteOffset: tickContextOffset, as: OpaquePointer.self)
    let period = UnsafeMutableRawPointer(timer).load(fromByteOffset: tickPeriodOffset, as: lws_usec_t.self)
    lws_sul_schedule(context, 0, timer, benchTick, period)
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
