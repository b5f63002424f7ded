/// How the engine reaches the other nodes of a cluster, to serve a request for a session another node holds
/// (a load balancer that knows nothing of Socket.IO sends each request of a client wherever it likes).
///
/// The engine decides everything (what to forward, how long to wait, when to move a session); the link only
/// carries ``NodeMessage`` values to one named node and hands the ones addressed to this node to
/// ``EngineServer/receive(_:)`` on the service thread. The message queue implements it over Redis; tests link
/// two engines in memory.
public protocol NodeLink: AnyObject {
    /// This node's tag: what its sids begin with (``SessionID/nodeTagLength`` lowercase hex digits).
    var nodeTag: String { get }
    /// Hands `message` to node `node` (a tag). Service thread; never blocks. False when it could not even be
    /// queued (the link's bound): the engine answers at once instead of waiting.
    func send(_ message: NodeMessage, to node: String) -> Bool
}

/// One message between the engines of two nodes. Each names its sender's tag where an answer goes back.
public enum NodeMessage: Sendable, Equatable {
    /// A plain HTTP request for a session the receiver holds (or knows has moved on): serve it as if it had
    /// arrived there, and answer with ``response(id:_:)`` (after ``held(id:)`` when it waits).
    case request(id: UInt64, from: String, ForwardedRequest)
    /// The answer to request `id`.
    case response(id: UInt64, HTTPResponse)
    /// Request `id` is a GET the owner holds (a long-poll): its answer may take up to a ping interval.
    case held(id: UInt64)
    /// The client behind request `id` (sent by `from`) went away before its answer: the owner lets go of it.
    case abandoned(id: UInt64, from: String)
    /// Node `from` holds a new connection (a WebSocket) for session `sid`: send it the session.
    case moveRequest(id: UInt64, from: String, sid: String)
    /// The session asked for in move `id`, now let go of by the sender; nil when it could not be moved (the
    /// reason says why, for the log).
    case moveAnswer(id: UInt64, MovedSession?, reason: String)
    /// A message of the layer above, opaque to the engine (Socket.IO: the answer to an acknowledgement that
    /// a socket which moved away still owes the node it left).
    case upper(from: String, [UInt8])
}

/// A request as it travels to the node that holds its session: what the engine reads of a request, plus
/// how many nodes it has already passed through (a session that moved on is followed once, never in a loop).
public struct ForwardedRequest: Sendable, Equatable {
    public var method: HTTPMethod
    public var query: QueryParameters
    public var origin: String?
    /// The client's address as the first node saw it (for logs and per-address accounting).
    public var peer: String
    public var body: [UInt8]
    public var hops: Int

    public init(method: HTTPMethod, query: QueryParameters, origin: String?, peer: String, body: [UInt8], hops: Int) {
        self.method = method
        self.query = query
        self.origin = origin
        self.peer = peer
        self.body = body
        self.hops = hops
    }

    init(_ request: HTTPRequest) {
        self.init(method: request.method, query: request.query, origin: request.origin, peer: request.peer, body: request.body, hops: request.hops + 1)
    }

    /// The request to serve on the receiving node.
    func request(path: String) -> HTTPRequest {
        var request = HTTPRequest(method: method, path: path, query: query, origin: origin, peer: peer, body: body)
        request.hops = hops
        return request
    }
}

/// A session on its way from one node to another: everything the engine keeps for it, and the state the
/// layer above packed (``EngineServerDelegate/engineSessionWillMove(_:)``), opaque to the engine.
public struct MovedSession: Sendable, Equatable {
    public var sid: String
    public var peer: String
    /// The transport it was on (one that travels over plain HTTP: a session on a WebSocket does not move).
    public var transport: TransportName
    /// Packets queued for the client and not yet collected, oldest first.
    public var queued: [EnginePacket]
    /// The layer above's state (Socket.IO: its sockets, rooms and the app's data).
    public var state: [UInt8]

    public init(sid: String, peer: String, transport: TransportName, queued: [EnginePacket], state: [UInt8]) {
        self.sid = sid
        self.peer = peer
        self.transport = transport
        self.queued = queued
        self.state = state
    }
}
