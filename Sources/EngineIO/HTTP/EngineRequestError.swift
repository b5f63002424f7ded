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

    public var description: String { "\(message): \(detail)" }

    /// The JSON error response, with CORS headers so a browser lets the page read it.
    public func response(headers: [HTTPHeader] = []) -> HTTPResponse {
        var body = Array("{\"code\":\(code),\"message\":\"".utf8)
        body.append(contentsOf: message.utf8)  // fixed texts: nothing to escape
        body.append(contentsOf: "\"}".utf8)
        return HTTPResponse(status: status, contentType: "application/json", headers: headers, body: body)
    }
}
