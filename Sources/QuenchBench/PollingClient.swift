import CBenchSystem

/// Drives N Engine.IO long-polling clients from one thread: every client's two sockets sit in one
/// `PollSet`, non-blocking, and one `poll()` loop serves them all, so the load tool stays cheap per message.
///
/// Connecting, the measured window, failures and the figures follow `BenchClient` (the WebSocket driver)
/// step for step, and feed the same `BenchRecord`, so the two transports' reports compare directly.
final class PollingClient: ClientPool<PollingConnection>, BenchDriver {
    /// The `Host` header of every request: `HOST:PORT` as given in the URL.
    let hostHeader: String
    /// The handshake GET (no sid yet), the same for every client.
    private var handshake: [UInt8] = []
    /// Where every socket's bytes are read to; a response must fit (Engine.IO's default maxPayload is 1 MB).
    private let readBuffer: UnsafeMutableRawBufferPointer

    override init(settings: BenchSettings) {
        hostHeader = "\(settings.host):\(settings.port)"
        readBuffer = .allocate(byteCount: 1_048_576 + HTTPResponseParser.maximumHeaderBytes, alignment: 16)
        super.init(settings: settings)
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
        clients = (0..<settings.clients).map {
            PollingConnection(index: $0, client: self, address: address, pollSet: pollSet, pollSlot: $0 * 2)
        }
        defer {
            // The end of the run: just close the sockets (the server sees the clients go).
            for connection in clients { connection.close() }
        }
        connectMore()
        let deadline = Clock.monotonic() + Int64(settings.connectTimeoutSeconds * 1e9)
        while !finished {
            let waited = pollSet.wait(timeoutMilliseconds: nextTimeout()) { slot, revents in
                clients[slot >> 1].handle(channel: slot & 1, revents: revents, buffer: readBuffer)
            }
            if case .failure(let error) = waited { throw error }
            checkDeadlines(connectDeadline: deadline)
        }
    }

    /// Sleep in poll() at most 100 ms, so deadlines are noticed on an idle client set, and no longer than
    /// the window has left, so an idle window ends on time.
    private func nextTimeout() -> Int32 {
        guard record.measuring else { return 100 }
        let left = (record.windowEnd - Clock.monotonic() + 999_999) / 1_000_000
        return Int32(min(max(left, 0), 100))
    }

    override func startConnecting(_ connection: PollingConnection) {
        connection.start(handshake: handshake)
    }
}
