import EngineIO

/// A WebSocket that lives in memory: records what the engine sends and lets a test play the client.
///
/// By default the client takes every frame at once. With ``isReading`` false, frames wait unread (counted
/// in ``outbound``, as the lws socket counts them) until ``clientReads()``; one that would pass the limit
/// is refused and reported to the transport, as the real socket does.
public final class InMemoryWebSocket: WebSocketConnection {
    /// Frames the client has read, as text (binary frames are prefixed with `<binary>` and shown in hex).
    public private(set) var sentFrames: [String] = []
    /// The close code, once the engine closed the socket.
    public private(set) var closeCode: UInt16?
    /// The transport the engine attached, which the test feeds frames into; nil once the socket closed.
    public var transport: WebSocketTransport?
    /// Whether the client takes frames as they are sent.
    public var isReading = true
    /// What waits unread, against the engine's `maxBuffered`.
    public private(set) var outbound: OutboundBudget
    /// Frames sent while the client was not reading, oldest first.
    private var unread: [String] = []

    /// - Parameters:
    ///   - maxBuffered: the most unread bytes before the socket refuses a frame.
    ///   - memory: the engine's total for all clients (`--max-buffered-total`), if this socket counts in one.
    public init(maxBuffered: Int = EngineConfiguration.defaultMaxBuffered, memory: OutboundMemory? = nil) {
        outbound = OutboundBudget(limit: maxBuffered, memory: memory)
    }

    public func sendFrame(_ bytes: [UInt8], binary: Bool) {
        deliver(binary ? "<binary>" + bytes.map { String($0, radix: 16) }.joined(separator: " ") : String(decoding: bytes, as: UTF8.self), length: bytes.count)
    }

    public func sendText(digit: UInt8, payload: [UInt8]) {
        deliver(String(decoding: [digit] + payload, as: UTF8.self), length: payload.count + 1)
    }

    /// How many broadcasts arrived as a shared, pre-built frame.
    public private(set) var sharedFramesSent = 0

    /// A broadcast's pre-built frame: its bytes are read back as a client would (an unmasked, final text
    /// frame whose length matches), so a wrong header shows up as `<bad frame>` instead of the text.
    public func sendShared(_ frame: SharedTextFrame) {
        sharedFramesSent += 1
        let text = Self.textPayload(ofFrame: Array(frame.bytes)).map { String(decoding: $0, as: UTF8.self) } ?? "<bad frame>"
        deliver(text, length: frame.countedLength)
    }

    /// The payload of one whole unmasked final text frame, nil if the bytes are anything else.
    public static func textPayload(ofFrame frame: [UInt8]) -> ArraySlice<UInt8>? {
        guard frame.count >= 2, frame[0] == 0x81, frame[1] & 0x80 == 0 else { return nil }
        var length = Int(frame[1])
        var start = 2
        if length == 126 {
            guard frame.count >= 4 else { return nil }
            length = Int(frame[2]) << 8 | Int(frame[3])
            start = 4
        } else if length == 127 {
            guard frame.count >= 10 else { return nil }
            length = frame[2..<10].reduce(0) { $0 << 8 | Int($1) }
            start = 10
        }
        guard frame.count == start + length else { return nil }
        return frame[start...]
    }

    private func deliver(_ frame: String, length: Int) {
        guard closeCode == nil else { return }
        if outbound.passesTotal(adding: length) {
            outbound.memory?.reclaim(needing: length)
            guard closeCode == nil else { return }
        }
        guard outbound.add(length) else {
            transport?.outboundLimitReached(queued: outbound.queued + length)
            close(code: 1008)
            return
        }
        unread.append(frame)
        if isReading { clientReads() }
    }

    /// The client reads every frame waiting for it.
    public func clientReads() {
        sentFrames.append(contentsOf: unread)
        unread.removeAll()
        outbound.drain(outbound.queued)
    }

    public func close(code: UInt16) {
        guard closeCode == nil else { return }
        closeCode = code
        // Let go of the transport, as lws's socket does on close: the two hold each other strongly.
        transport = nil
        // Closing drops what the client has not read, as the real socket does.
        unread.removeAll()
        outbound.dropAll()
    }

    /// The client sends a text frame.
    public func clientSends(_ text: String) {
        transport?.receive(frame: Array(text.utf8), isBinary: false)
    }

    /// The client sends a binary frame.
    public func clientSendsBinary(_ bytes: [UInt8]) {
        transport?.receive(frame: bytes, isBinary: true)
    }

    /// The client's socket goes away.
    public func clientDisconnects() {
        let transport = self.transport
        self.transport = nil  // as lws's socket does; the transport holds this socket strongly
        transport?.connectionClosed()
    }

    /// Returns and forgets the frames sent so far.
    public func takeFrames() -> [String] {
        defer { sentFrames.removeAll() }
        return sentFrames
    }
}

/// An HTTP responder that records the response, for driving polling in memory.
public final class RecordingResponder: HTTPResponder {
    public private(set) var response: HTTPResponse?
    /// The held request's abandon hook, if the engine registered one.
    public var abandon: (() -> Void)?

    public init() {}

    public func respond(_ response: HTTPResponse) {
        if self.response == nil { self.response = response }
        // An answered request cannot be abandoned, and the hook holds this responder (as lws's exchange does).
        abandon = nil
    }

    /// The client drops the held request: the engine's hook runs once and is let go of, as lws's exchange
    /// does (the hook holds this responder).
    public func clientAbandons() {
        let hook = abandon
        abandon = nil
        hook?()
    }

    /// The response body as text.
    public var body: String? { response.map { String(decoding: $0.body, as: UTF8.self) } }
    public var status: Int? { response?.status }
}

extension EngineServer {
    /// Opens a WebSocket session in memory, as a client connecting with `query` from the address `peer` would.
    public func connectInMemory(query: String = "EIO=4&transport=websocket", origin: String? = nil, peer: String = "test") -> InMemoryWebSocket {
        let socket = InMemoryWebSocket(maxBuffered: configuration.maxBuffered, memory: outboundMemory)
        let request = HTTPRequest(method: .get, path: configuration.path, query: QueryParameters(query), origin: origin, peer: peer)
        socket.transport = openWebSocket(request, connection: socket)
        return socket
    }

    /// Sends an HTTP request in memory and returns the responder (answered now, or later for a held poll).
    @discardableResult
    public func requestInMemory(_ method: HTTPMethod, query: String, body: String = "", origin: String? = nil) -> RecordingResponder {
        let responder = RecordingResponder()
        let request = HTTPRequest(
            method: method, path: configuration.path, query: QueryParameters(query), origin: origin, peer: "test", body: Array(body.utf8))
        handle(request, responder: responder, onAbandon: { responder.abandon = $0 })
        return responder
    }
}
