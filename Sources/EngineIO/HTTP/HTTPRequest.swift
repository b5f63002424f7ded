/// An HTTP request as the engine needs it, independent of the server library that parsed it.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The path without the query string.
    public var path: String
    /// The parsed query string.
    public var query: QueryParameters
    /// The `Origin` header, if the client (a browser) sent one.
    public var origin: String?
    /// `Access-Control-Request-Headers`, for answering a CORS preflight.
    public var requestedHeaders: String?
    /// The client's address, for logs.
    public var peer: String
    /// The request body (POST), complete.
    public var body: [UInt8]
    /// How many nodes passed the request on before it reached this one (0: it came from the client). A
    /// request is followed to a session that moved at most once (``NodeLink``).
    public var hops = 0

    public init(
        method: HTTPMethod, path: String, query: QueryParameters, origin: String? = nil,
        requestedHeaders: String? = nil, peer: String = "-", body: [UInt8] = []
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.origin = origin
        self.requestedHeaders = requestedHeaders
        self.peer = peer
        self.body = body
    }
}

/// The methods the engine tells apart; anything else is refused.
public enum HTTPMethod: Sendable, Equatable {
    case get, post, options
    case other(String)

    public init(_ name: String) {
        switch name {
        case "GET": self = .get
        case "POST": self = .post
        case "OPTIONS": self = .options
        default: self = .other(name)
        }
    }

    /// The method as it appears on the request line (the inverse of ``init(_:)``).
    public var name: String {
        switch self {
        case .get: "GET"
        case .post: "POST"
        case .options: "OPTIONS"
        case .other(let name): name
        }
    }
}
