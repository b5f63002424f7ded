import EngineIO

/// A WebSocket that lives in memory: records what the engine sends and lets a test play the client.
public final class InMemoryWebSocket: WebSocketConnection {
    /// Frames sent to the client, as text (binary frames are prefixed with `<binary>` and shown in hex).
    public private(set) var sentFrames: [String] = []
    /// The close code, once the engine closed the socket.
    public private(set) var closeCode: UInt16?
    /// The transport the engine attached, which the test feeds frames into.
    public var transport: WebSocketTransport?

    public init() {}

    public func sendFrame(_ bytes: [UInt8], binary: Bool) {
        sentFrames.append(binary ? "<binary>" + bytes.map { String($0, radix: 16) }.joined(separator: " ") : String(decoding: bytes, as: UTF8.self))
    }

    public func sendText(digit: UInt8, payload: [UInt8]) {
        sentFrames.append(String(decoding: [digit] + payload, as: UTF8.self))
    }

    public func close(code: UInt16) {
        closeCode = closeCode ?? code
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
    }

    /// The response body as text.
    public var body: String? { response.map { String(decoding: $0.body, as: UTF8.self) } }
    public var status: Int? { response?.status }
}

extension EngineServer {
    /// Opens a WebSocket session in memory, as a client connecting with `query` would.
    public func connectInMemory(query: String = "EIO=4&transport=websocket", origin: String? = nil) -> InMemoryWebSocket {
        let socket = InMemoryWebSocket()
        let request = HTTPRequest(method: .get, path: configuration.path, query: QueryParameters(query), origin: origin, peer: "test")
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
