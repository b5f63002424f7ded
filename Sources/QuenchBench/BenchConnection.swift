import CLibWebSockets

/// One simulated Socket.IO client over WebSocket: Engine.IO handshake, namespace connect, then (in rtt mode)
/// one `user_message` in flight at a time, each reply checked to the byte by its `ChatScript`.
final class BenchConnection: SimulatedClient {

    let index: Int
    unowned let client: BenchClient
    var wsi: OpaquePointer?
    var state = ClientState.connecting
    private var script: ChatScript
    private var outgoing: [(frame: [UInt8], binary: Bool)] = []
    private var partial: [UInt8] = []
    /// When this client's connect began (monotonic ns), set as it leaves the queue of clients waiting to connect.
    var startedAt = Clock.monotonic()
    var lastReminderBoundary: Int64 = 0
    var inFlightSince: Int64? { script.inFlightSince }

    init(index: Int, client: BenchClient) {
        self.index = index
        self.client = client
        script = ChatScript(index: index)
    }

    /// A failed client keeps its WebSocket open but is no longer driven: its next frames are ignored.
    func abandon() {}

    func send(_ text: String) {
        send(Array(text.utf8))
    }

    private func send(_ frame: [UInt8], binary: Bool = false) {
        outgoing.append((frame, binary))
        if outgoing.count == 1, let wsi { lws_callback_on_writable(wsi) }
    }

    /// `LWS_CALLBACK_CLIENT_WRITEABLE`: one frame per callback, as lws requires.
    func writable() -> Int32 {
        guard !outgoing.isEmpty, let wsi else { return 0 }
        let (frame, binary) = outgoing.removeFirst()
        let written = client.write(frame, to: wsi, binary: binary)
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
            if client.settings.msgpack {
                send(MsgPackChat.connect, binary: true)
            } else {
                send("40")
            }
        case UInt8(ascii: "2"):
            send("3")
        case UInt8(ascii: "4"):
            handleSocketIO(frame)
        case 0x80...0x8F where client.settings.msgpack:
            guard let text = MsgPackChat.engineText(frame) else { return client.fail(self, "unreadable msgpack packet") }
            text.withUnsafeBytes { handleSocketIO($0) }
        default:
            break
        }
    }

    private func handleSocketIO(_ frame: UnsafeRawBufferPointer) {
        client.handle(script.judge(frame), from: self)
    }

    /// Sends the next `user_message`; its reply is timed from now.
    func sendNextMessage() {
        let message = script.nextMessage()
        guard client.settings.msgpack else { return send(message) }
        send(MsgPackChat.userMessage(text: script.inFlightText), binary: true)
    }
}
