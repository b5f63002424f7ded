#if canImport(Glibc)
import Glibc
#endif

/// Drives N Engine.IO long-polling clients from one thread: every client's two sockets sit in one
/// `PollSet`, non-blocking, and one `poll()` loop serves them all, so the load tool stays cheap per message.
///
/// Connecting, the measured window, failures and the figures follow `BenchClient` (the WebSocket driver)
/// step for step, and feed the same `BenchRecord`, so the two transports' reports compare directly.
final class PollingClient: BenchDriver {
    let settings: BenchSettings
    private(set) var record: BenchRecord
    var onAllConnected: (() -> Void)?
    /// The `Host` header of every request: `HOST:PORT` as given in the URL.
    let hostHeader: String
    private var connections: [PollingConnection] = []
    private var nextToConnect = 0
    private var connecting = 0
    private var finished = false
    /// Set while `connectMore` runs, so a failure inside it does not start a second, nested loop.
    private var startingClients = false
    /// The handshake GET (no sid yet), the same for every client.
    private var handshake: [UInt8] = []
    /// Where every socket's bytes are read to; a response must fit (Engine.IO's default maxPayload is 1 MB).
    private let readBuffer: UnsafeMutableRawBufferPointer

    /// Handshakes in flight at once, as `BenchClient` has: a thousand clients do not SYN-flood the server.
    private static let maximumConnecting = 128

    init(settings: BenchSettings) {
        self.settings = settings
        record = BenchRecord(clients: settings.clients)
        hostHeader = "\(settings.host):\(settings.port)"
        readBuffer = .allocate(byteCount: 1_048_576 + HTTPResponseParser.maximumHeaderBytes, alignment: 16)
    }

    deinit {
        readBuffer.deallocate()
    }

    func run() throws(BenchError) {
        let address = try SocketAddress.resolve(host: settings.bareHost, port: settings.port)
        // poll() refuses a table longer than the open-file limit, so say so now rather than fail later.
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < rlim_t(settings.clients * 2 + 16) {
            throw BenchError("\(settings.clients) polling clients need \(settings.clients * 2) sockets; the open-file limit is \(limit.rlim_cur)")
        }
        let pollSet = PollSet(slots: settings.clients * 2)
        handshake = Array("GET \(settings.path)?EIO=4&transport=polling HTTP/1.1\r\nHost: \(hostHeader)\r\n\r\n".utf8)
        connections = (0..<settings.clients).map {
            PollingConnection(index: $0, client: self, address: address, pollSet: pollSet, pollSlot: $0 * 2)
        }
        defer {
            // The end of the run: just close the sockets (the server sees the clients go).
            for connection in connections { connection.close() }
        }
        connectMore()
        let deadline = Clock.monotonic() + Int64(settings.connectTimeoutSeconds * 1e9)
        while !finished {
            let waited = pollSet.wait(timeoutMilliseconds: nextTimeout()) { slot, revents in
                connections[slot >> 1].handle(channel: slot & 1, revents: revents, buffer: readBuffer)
            }
            if case .failure(let error) = waited { throw error }
            if record.allConnectedAt == nil, Clock.monotonic() > deadline {
                fail(nil, "gave up connecting after \(settings.connectTimeoutSeconds)s with \(record.connectedCount)/\(settings.clients) connected")
                startWindow()
            }
            if record.windowElapsed { finish() }
        }
    }

    /// Sleep in poll() at most 100 ms, so deadlines are noticed on an idle client set, and no longer than
    /// the window has left, so an idle window ends on time.
    private func nextTimeout() -> Int32 {
        guard record.measuring else { return 100 }
        let left = (record.windowEnd - Clock.monotonic() + 999_999) / 1_000_000
        return Int32(min(max(left, 0), 100))
    }

    // MARK: Connecting

    /// Keeps a bounded number of handshakes in flight. A start that fails at once (no sockets left) calls
    /// back here through `fail`; that inner call returns at once and this loop goes on, so thousands of
    /// such failures do not nest thousands deep.
    private func connectMore() {
        guard !startingClients else { return }
        startingClients = true
        defer { startingClients = false }
        while connecting < Self.maximumConnecting, nextToConnect < connections.count {
            let connection = connections[nextToConnect]
            nextToConnect += 1
            connecting += 1
            connection.startedAt = Clock.monotonic()
            connection.start(handshake: handshake)
        }
    }

    func connected(_ connection: PollingConnection) {
        connecting -= 1
        record.connected(startedAt: connection.startedAt)
        connectMore()
        if record.measuring {
            // A late joiner (the window started without it after a failure): put it to work too.
            if settings.mode == .rtt { connection.sendNextMessage() }
        } else if record.everyClientSettled {
            startWindow()
        }
    }

    private func startWindow() {
        guard record.openWindow(durationSeconds: settings.durationSeconds) else { return }
        onAllConnected?()
        if settings.mode == .rtt {
            for connection in connections where connection.state == .ready { connection.sendNextMessage() }
        }
    }

    private func finish() {
        record.closeWindow()
        finished = true
    }

    // MARK: Events from connections

    func replied(_ connection: PollingConnection, latency: Int64) {
        if record.replied(latency: latency) { connection.sendNextMessage() }
    }

    func reminderArrived(_ connection: PollingConnection) {
        record.reminderArrived(intervalSeconds: settings.reminderIntervalSeconds)
    }

    /// Counts a failure and closes the client's sockets; a failed client is not retried.
    func fail(_ connection: PollingConnection?, _ reason: String) {
        guard !finished else { return }
        record.failed((connection.map { "client \($0.index): " } ?? "") + reason)
        if let connection, connection.state != .closed {
            if connection.state != .ready { connecting -= 1 }
            connection.state = .closed
            connection.close()
            connectMore()
        }
        if record.allConnectedAt == nil, record.everyClientSettled { startWindow() }
    }
}
