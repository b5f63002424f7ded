/// What the engine keeps about the rest of the cluster: requests it passed on and awaits answers for, the
/// ones it serves for other nodes, moves under way, and sessions that moved on from here. Each table has a
/// bound and each entry a deadline, so a node that never answers costs a fixed amount and a fixed time.
struct ClusterState {
    /// Ids for requests and moves this node starts; unique per node (answers name them).
    var nextID: UInt64 = 1
    /// Requests passed on to another node, by id, until answered, abandoned, or past their deadline.
    var waiting: [UInt64: WaitingRequest] = [:]
    /// Requests another node passed on and that wait here (a held GET): what to do when their client goes.
    var served: [ServedRequest: () -> Void] = [:]
    /// WebSocket connections waiting for their session to arrive from the node that held it, by move id.
    var moves: [UInt64: PendingMove] = [:]
    /// Sessions that moved from here to another node (a sid names the node that made it, not the one
    /// holding it now): requests for them are passed on there until the client has surely moved too.
    var movedAway: [String: MovedAway] = [:]
    /// What happened, for `/metrics`.
    var counters = ClusterCounters()

    mutating func makeID() -> UInt64 {
        defer { nextID &+= 1 }
        return nextID
    }
}

/// A request this node passed on: where its answer goes.
struct WaitingRequest {
    let responder: any HTTPResponder
    /// The CORS headers its answer needs if this node answers it itself (the owner did not).
    let headers: [HTTPHeader]
    let node: String
    let peer: String
    let sid: String
    var timer: EngineTimer
}

/// A request another node passed on to this one.
struct ServedRequest: Hashable {
    let node: String
    let id: UInt64
}

/// A WebSocket whose session is on its way from another node.
struct PendingMove {
    let sid: String
    let node: String
    let peer: String
    let transport: any Transport
    let timer: EngineTimer
}

/// A session that moved from here to `node`.
struct MovedAway {
    let node: String
    let timer: EngineTimer
}

/// Requests passed between nodes and sessions moved between them, by outcome: plain integers, service thread only.
public struct ClusterCounters: Sendable {
    /// Requests this node passed on to the node holding their session, by how they ended.
    public internal(set) var forwarded: [ForwardOutcome: Int] = [:]
    /// Requests other nodes passed on to this one.
    public internal(set) var served = 0
    /// Session moves, by outcome.
    public internal(set) var moves: [MoveOutcome: Int] = [:]

    public init() {}
}

/// How a request passed on to another node ended.
public enum ForwardOutcome: String, Sendable, CaseIterable {
    /// The owner's answer came and was sent to the client.
    case answered
    /// No answer within the deadline (the owner is gone, or cut off): the client got 400 "Session ID unknown".
    case ownerGone = "owner_gone"
    /// Too many requests were waiting on other nodes, or the link's queue was full: the client got 503.
    case atBound = "at_bound"
    /// The client went away before the answer.
    case abandoned
}

/// How a session move ended, on either side.
public enum MoveOutcome: String, Sendable, CaseIterable {
    /// A session arrived here with its new connection.
    case movedIn = "moved_in"
    /// A session left here for the node that holds its client's new connection.
    case movedOut = "moved_out"
    /// The node holding it refused (unknown, upgrading or closing session), or the state it sent was unusable.
    case refused
    /// No answer within the deadline: the new connection was closed.
    case ownerGone = "owner_gone"
    /// Too many moves were under way, or the link's queue was full: the new connection was closed.
    case atBound = "at_bound"
}
