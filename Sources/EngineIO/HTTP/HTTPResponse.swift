/// An HTTP response the engine wants sent, independent of the server library that sends it.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    /// Headers besides Content-Type and Content-Length (which the binding writes).
    public var headers: [HTTPHeader]
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int, contentType: String = "text/plain; charset=UTF-8", headers: [HTTPHeader] = [], body: [UInt8] = []) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    /// 200 with Engine.IO packets (or `ok`) as plain text, as long-polling answers.
    public static func ok(_ body: [UInt8], headers: [HTTPHeader]) -> HTTPResponse {
        HTTPResponse(status: 200, contentType: "text/plain; charset=UTF-8", headers: headers, body: body)
    }
}

/// One response header.
public struct HTTPHeader: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// Somewhere to send the answer to one HTTP request, possibly later (a held long-poll).
///
/// The binding implements it for a real connection; tests record responses in memory.
public protocol HTTPResponder: AnyObject {
    /// Sends the response. Later calls are ignored; so are calls after the client went away.
    func respond(_ response: HTTPResponse)
    /// Whether the answer goes back to another node that passed the request on (``NodeLink``), rather than
    /// to a connection of this node. Default false.
    var isPassedOn: Bool { get }
}

extension HTTPResponder {
    public var isPassedOn: Bool { false }
}
