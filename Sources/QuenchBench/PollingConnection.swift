/// One simulated Socket.IO client over Engine.IO long-polling, as a browser runs it: one keep-alive
/// connection always holds a GET open for the server's packets, the other carries this client's packets
/// in POSTs, one at a time, several packets joined by the record separator into one body.
///
/// The Socket.IO side (namespace connect, `user_message` out, every `bot_message` checked to the byte) is
/// the same `ChatScript` the WebSocket clients use. Used only on `PollingClient`'s thread.
final class PollingConnection: SimulatedClient {

    let index: Int
    unowned let client: PollingClient
    var state = ClientState.connecting
    /// When this client's connect began (monotonic ns), set as it leaves the queue of clients waiting to connect.
    var startedAt = Clock.monotonic()
    var lastReminderBoundary: Int64 = 0
    var inFlightSince: Int64? { script.inFlightSince }
    private var script: ChatScript
    /// Carries the handshake, then the long-poll GETs.
    private let polls: HTTPChannel
    /// Carries the POSTs.
    private let posts: HTTPChannel
    /// The GET request once the sid is known; the same bytes every time.
    private var pollRequest: [UInt8] = []
    /// A POST's request line and headers up to the Content-Length value.
    private var postHead: [UInt8] = []
    /// Packets waiting for the next POST, already joined by the record separator.
    private var outgoing: [UInt8] = []
    /// Whether `outgoing` holds a `user_message`, whose reply is timed from when its POST is written.
    private var outgoingHasMessage = false

    private static let separator: UInt8 = 0x1E

    /// - Parameters:
    ///   - index: the client's number, in its message texts and failure lines.
    ///   - pollSlot: its slot in `pollSet` for the GET connection; the POST connection takes the next one.
    init(index: Int, client: PollingClient, address: SocketAddress, pollSet: PollSet, pollSlot: Int) {
        self.index = index
        self.client = client
        script = ChatScript(index: index)
        polls = HTTPChannel(address: address, pollSet: pollSet, slot: pollSlot)
        posts = HTTPChannel(address: address, pollSet: pollSet, slot: pollSlot + 1)
    }

    /// Sends the Engine.IO handshake, the GET without a sid.
    func start(handshake: [UInt8]) {
        if let failure = polls.send({ $0.append(contentsOf: handshake) }) { client.fail(self, failure) }
    }

    /// Closes both connections.
    /// A failed client drops both its sockets.
    func abandon() { close() }

    func close() {
        polls.close()
        posts.close()
    }

    /// A poll event for one of this client's sockets: `channel` 0 is the GET connection, 1 the POST one.
    func handle(channel: Int, revents: Int16, buffer: UnsafeMutableRawBufferPointer) {
        guard state != .closed else { return }
        switch (channel == 0 ? polls : posts).handle(revents: revents, buffer: buffer) {
        case .nothing:
            break
        case .failure(let text):
            client.fail(self, text)
        case .response(let status, let body):
            if channel == 0 { polled(status: status, body: body) } else { posted(status: status, body: body) }
        }
    }

    // MARK: GET

    private func polled(status: Int, body: UnsafeRawBufferPointer) {
        guard status == 200 else { return client.fail(self, "GET: HTTP \(status): \(Self.text(body))") }
        if state == .connecting { return opened(body) }
        var start = 0
        while start <= body.count, state != .closed {
            let end = body[start...].firstIndex(of: Self.separator) ?? body.count
            handle(packet: UnsafeRawBufferPointer(rebasing: body[start..<end]))
            start = end + 1
        }
        if state != .closed { poll() }
    }

    /// The handshake's `0{"sid":"…",…}`: keep the sid, join the namespace, start polling.
    private func opened(_ body: UnsafeRawBufferPointer) {
        guard body.starts(with: Self.openPrefix), let sid = Self.sid(in: body) else {
            return client.fail(self, "bad handshake: \(Self.text(body))")
        }
        state = .handshaking
        let query = "\(client.settings.path)?EIO=4&transport=polling&sid=\(sid)"
        pollRequest = Array("GET \(query) HTTP/1.1\r\nHost: \(client.hostHeader)\r\n\r\n".utf8)
        postHead = Array(
            "POST \(query) HTTP/1.1\r\nHost: \(client.hostHeader)\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: ".utf8)
        queue(Array("40".utf8))
        if state != .closed { poll() }
    }

    /// Keeps exactly one GET outstanding.
    private func poll() {
        if let failure = polls.send({ $0.append(contentsOf: pollRequest) }) { client.fail(self, failure) }
    }

    private func handle(packet: UnsafeRawBufferPointer) {
        guard let type = packet.first else { return client.fail(self, "empty packet") }
        switch type {
        case UInt8(ascii: "2"):
            queue(Array("3".utf8))
        case UInt8(ascii: "1"):
            client.fail(self, "closed by server")
        case UInt8(ascii: "4"):
            handleSocketIO(packet)
        default:
            break  // noop (6) and anything else a client may ignore
        }
    }

    private func handleSocketIO(_ packet: UnsafeRawBufferPointer) {
        client.handle(script.judge(packet), from: self)
    }

    // MARK: POST

    /// Sends the next `user_message`; its reply is timed from when its POST is written.
    func sendNextMessage() {
        outgoingHasMessage = true
        queue(script.nextMessage())
    }

    private func queue(_ packet: [UInt8]) {
        if !outgoing.isEmpty { outgoing.append(Self.separator) }
        outgoing.append(contentsOf: packet)
        post()
    }

    /// One POST in flight at a time: whatever queued meanwhile goes out in the next one.
    private func post() {
        guard state != .closed, !outgoing.isEmpty, !posts.isBusy else { return }
        let failure = posts.send { request in
            request.append(contentsOf: postHead)
            appendDecimal(outgoing.count, to: &request)
            request.append(contentsOf: [13, 10, 13, 10])
            request.append(contentsOf: outgoing)
        }
        outgoing.removeAll(keepingCapacity: true)
        if outgoingHasMessage {
            outgoingHasMessage = false
            script.messageWritten(at: Clock.monotonic())
        }
        if let failure { client.fail(self, failure) }
    }

    /// The server's answer to a POST: `ok` (engine.io) or `OK` (python-engineio), as a 200.
    private func posted(status: Int, body: UnsafeRawBufferPointer) {
        guard status == 200, body.count == 2, body[0] | 0x20 == UInt8(ascii: "o"), body[1] | 0x20 == UInt8(ascii: "k") else {
            return client.fail(self, "POST: HTTP \(status): \(Self.text(body))")
        }
        post()
        // A client that only listens (idle, fanout) lets its POST connection go until it has something to
        // send (a pong), so N such clients hold N connections on the server rather than 2N, as a browser's
        // idle connection would be closed by the server's keep-alive timeout anyway.
        if client.settings.mode != .rtt, !posts.isBusy { posts.close() }
    }

    // MARK: Helpers

    private static let openPrefix = Array("0{".utf8)
    private static let sidKey = Array("\"sid\":\"".utf8)

    /// The sid of an open packet, if it is made only of the URL-safe characters Engine.IO servers use
    /// (so it goes into the query string as it is).
    private static func sid(in body: UnsafeRawBufferPointer) -> String? {
        guard body.count > sidKey.count else { return nil }
        var start = 0
        while start + sidKey.count <= body.count, !body[start..<(start + sidKey.count)].elementsEqual(sidKey) { start += 1 }
        start += sidKey.count
        guard start < body.count, let end = body[start...].firstIndex(of: UInt8(ascii: "\"")), end > start else { return nil }
        let sid = body[start..<end]
        let urlSafe = sid.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                return true
            default:
                return false
            }
        }
        return urlSafe ? String(decoding: sid, as: UTF8.self) : nil
    }

    private static func text(_ body: UnsafeRawBufferPointer) -> String {
        String(decoding: body.prefix(120), as: UTF8.self)
    }
}

/// Appends a non-negative `value` in decimal ASCII, without building a String (it runs once per POST).
private func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
    var divisor = 1
    while divisor <= value / 10 { divisor *= 10 }
    repeat {
        bytes.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
        divisor /= 10
    } while divisor > 0
}
