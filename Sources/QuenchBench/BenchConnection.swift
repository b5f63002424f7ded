import CLibWebSockets

/// One simulated Socket.IO client: Engine.IO handshake, namespace connect, then (in rtt mode) one
/// `user_message` in flight at a time, each reply checked to the byte.
final class BenchConnection {
    enum State { case connecting, handshaking, ready, closed }

    let index: Int
    unowned let client: BenchClient
    var wsi: OpaquePointer?
    var state = State.connecting
    private var sawConnectReply = false
    private var sawWelcome = false
    private var outgoing: [[UInt8]] = []
    private var partial: [UInt8] = []
    private var sequence = 0
    /// When the message in flight was sent (monotonic ns), and its expected reply prefix.
    private var inFlight: (sentAt: Int64, expected: [UInt8])?
    /// When this client's connect began (monotonic ns), set as it leaves the queue of clients waiting to connect.
    var startedAt = Clock.monotonic()

    init(index: Int, client: BenchClient) {
        self.index = index
        self.client = client
    }

    func send(_ text: String) {
        outgoing.append(Array(text.utf8))
        if outgoing.count == 1, let wsi { lws_callback_on_writable(wsi) }
    }

    /// `LWS_CALLBACK_CLIENT_WRITEABLE`: one frame per callback, as lws requires.
    func writable() -> Int32 {
        guard !outgoing.isEmpty, let wsi else { return 0 }
        let frame = outgoing.removeFirst()
        let written = client.write(frame, to: wsi)
        if written < frame.count { return -1 }
        if !outgoing.isEmpty { lws_callback_on_writable(wsi) }
        return 0
    }

    func received(_ bytes: UnsafeRawBufferPointer, final: Bool) {
        if !final || !partial.isEmpty {
            partial.append(contentsOf: bytes)
            guard final else { return }
            let whole = partial
            partial = []
            whole.withUnsafeBytes { handle(frame: $0) }
        } else {
            handle(frame: bytes)
        }
    }

    private func handle(frame: UnsafeRawBufferPointer) {
        guard let first = frame.first else { return client.fail(self, "empty frame") }
        switch first {
        case UInt8(ascii: "0"):
            state = .handshaking
            send("40")
        case UInt8(ascii: "2"):
            send("3")
        case UInt8(ascii: "4"):
            handleSocketIO(frame)
        default:
            break
        }
    }

    private static let connectReply = Array("40".utf8)
    private static let welcome = Array("42[\"system_message\",{\"text\":\"Connected to server\"}]".utf8)
    private static let botPrefix = Array("42[\"bot_message\",{\"text\":\"".utf8)
    private static let reminderPrefix = Array("42[\"bot_message\",{\"text\":\"Remember to stay hydrated! It's ".utf8)
    private static let replySuffix = Array(" (dummy reply)\"}]".utf8)

    private func handleSocketIO(_ frame: UnsafeRawBufferPointer) {
        if frame.starts(with: Self.welcome) && frame.count == Self.welcome.count {
            sawWelcome = true
        } else if frame.starts(with: Self.reminderPrefix) {
            client.reminderArrived(self, frame: frame)
            return
        } else if frame.starts(with: Self.botPrefix) {
            checkReply(frame)
            return
        } else if frame.starts(with: Self.connectReply) && frame.count > 2 && frame[2] == UInt8(ascii: "{") {
            sawConnectReply = true
        } else {
            return client.fail(self, "unexpected frame: \(String(decoding: frame.prefix(80), as: UTF8.self))")
        }
        if sawConnectReply, sawWelcome, state == .handshaking {
            state = .ready
            client.connected(self)
        }
    }

    /// Sends the next `user_message`, remembering exactly which reply must come back.
    func sendNextMessage() {
        sequence += 1
        let text = "c\(index)-\(sequence)"
        inFlight = (Clock.monotonic(), Array("42[\"bot_message\",{\"text\":\"\(text) rcvd at ".utf8))
        send("42[\"user_message\",{\"text\":\"\(text)\"}]")
    }

    /// A reply is right only if it echoes this connection's text, then `HH:MM:SS`, then the suffix.
    private func checkReply(_ frame: UnsafeRawBufferPointer) {
        guard let (sentAt, expected) = inFlight else { return client.fail(self, "reply with no message in flight") }
        inFlight = nil
        let timeStart = expected.count
        guard frame.count == timeStart + 8 + Self.replySuffix.count, frame.starts(with: expected),
            Self.isClock(frame[timeStart..<(timeStart + 8)]),
            frame[(timeStart + 8)...].elementsEqual(Self.replySuffix)
        else {
            return client.fail(self, "wrong reply: \(String(decoding: frame.prefix(120), as: UTF8.self))")
        }
        client.replied(self, latency: Clock.monotonic() - sentAt)
    }

    static func isClock(_ bytes: some Collection<UInt8>) -> Bool {
        guard bytes.count == 8 else { return false }
        for (offset, byte) in bytes.enumerated() {
            let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            if offset == 2 || offset == 5 ? byte != UInt8(ascii: ":") : !isDigit { return false }
        }
        return true
    }
}
