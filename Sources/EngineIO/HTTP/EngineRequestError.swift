/// Why the engine refused an HTTP request or WebSocket handshake. Codes and messages are the reference
/// server's, which clients and the protocol test suite know; `detail` says more in our log.
public struct EngineRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The numeric code in the JSON body.
    public let code: Int
    /// The message in the JSON body.
    public let message: String
    /// The HTTP status.
    public let status: Int
    /// What exactly was wrong, for the log line.
    public let detail: String
    /// Seconds the client should wait before trying again (`Retry-After`), for a refusal that passes.
    public var retryAfterSeconds: Int? = nil

    public static func unknownTransport(_ detail: String) -> Self { Self(code: 0, message: "Transport unknown", status: 400, detail: detail) }
    public static func unknownSession(_ detail: String) -> Self { Self(code: 1, message: "Session ID unknown", status: 400, detail: detail) }
    public static func badHandshakeMethod(_ detail: String) -> Self { Self(code: 2, message: "Bad handshake method", status: 400, detail: detail) }
    public static func badRequest(_ detail: String) -> Self { Self(code: 3, message: "Bad request", status: 400, detail: detail) }
    public static func forbiddenOrigin(_ detail: String) -> Self { Self(code: 4, message: "Not an accepted origin.", status: 400, detail: detail) }
    public static func unsupportedProtocolVersion(_ detail: String) -> Self {
        Self(code: 5, message: "Unsupported protocol version", status: 400, detail: detail)
    }
    public static func payloadTooLarge(_ detail: String) -> Self { Self(code: 3, message: "Payload too large", status: 413, detail: detail) }
    public static func lengthRequired(_ detail: String) -> Self { Self(code: 3, message: "Length required", status: 411, detail: detail) }
    /// A bound on work waiting for other nodes of the cluster was reached; the client retries later.
    public static func clusterBusy(_ detail: String) -> Self { Self(code: 3, message: "Cluster busy, retry later", status: 503, detail: detail) }
    /// A handshake over its address's bound (``AddressLimitCause``): 429 with `Retry-After`, the code being the
    /// status as in the binding's 503 `Server full`.
    public static func tooManyRequests(_ cause: AddressLimitCause, retryAfter seconds: Int, _ detail: String) -> Self {
        let message = switch cause {
        case .sessionsPerAddress: "Too many sessions from this address"
        case .handshakeRate: "Too many handshakes from this address"
        }
        return Self(code: 429, message: message, status: 429, detail: detail, retryAfterSeconds: seconds)
    }

    public var description: String { "\(message): \(detail)" }

    /// The JSON error response, with CORS headers so a browser lets the page read it.
    public func response(headers: [HTTPHeader] = []) -> HTTPResponse {
        var headers = headers
        if let retryAfterSeconds { headers.append(HTTPHeader("Retry-After", String(retryAfterSeconds))) }
        var body = Array("{\"code\":\(code),\"message\":\"".utf8)
        body.append(contentsOf: message.utf8)  // fixed texts: nothing to escape
        body.append(contentsOf: "\"}".utf8)
        return HTTPResponse(status: status, contentType: "application/json", headers: headers, body: body)
    }
}
