/// What one node tells the others through a message queue: the operations of python-socketio's
/// `PubSubManager` (`emit`, `disconnect`, `enter_room`, `leave_room`, `close_room`, `callback`).
///
/// Values only, so that a queue thread can build them and hand them to the service thread.
public enum ClusterOperation: Sendable, Equatable {
    /// An event for everyone in a namespace, some rooms or one sid.
    case emit(ClusterEmit)
    /// Disconnect `sid` from `namespace`, on whichever node holds it.
    case disconnect(sid: String, namespace: String)
    /// Put `sid` (held by some node) in `room`.
    case enterRoom(sid: String, namespace: String, room: String)
    /// Take `sid` (held by some node) out of `room`.
    case leaveRoom(sid: String, namespace: String, room: String)
    /// Empty `room` on every node.
    case closeRoom(room: String, namespace: String)
    /// A client acknowledged an emit that node `host` asked acknowledgements for: python's
    /// `{"method":"callback","host_id","sid","namespace","id","args"}`, where `sid` is the room the emit
    /// was addressed to.
    case callback(host: String, sid: String, namespace: String, id: Int64, arguments: [JSONValue])
    /// quench only (python-socketio ignores methods it does not know): a node restored the dropped session
    /// `handle`, so the node recording for it stops. The quench messages name a session by its handle, never
    /// by its pid.
    case recovered(handle: RecoveryHandle, namespace: String)
    /// quench only: node `host` stops and hands the dropped sessions it recorded for over to the others.
    case handover(host: String, namespace: String, sessions: [HandedOverSession])
    /// quench only: node `taker` began taking the dropped session `handle`, recorded for by `recorder` (the
    /// recorder value in the store). Published by the store's take script, so its place on the channel is
    /// the take's: every emit before it is the recorder's to append, every emit after it the taker's to
    /// deliver.
    case taking(handle: RecoveryHandle, namespace: String, taker: String, recorder: String)
    /// quench only: node `host`, which recorded for `handle`, saw the taking marker and every append it made
    /// for it has reached the store (published on the store's connection behind them): `taker` may finish.
    case flushed(handle: RecoveryHandle, namespace: String, host: String, taker: String)
    /// quench only: a message of the application serving `namespace` to its peers on the other nodes
    /// (``Namespace/publishToPeers(_:_:)``; the Admin UI's actions and socket lists), opaque to this layer.
    case application(namespace: String, name: String, arguments: [JSONValue])
}

/// One event sent to a namespace, some rooms of it, or one sid, on every node.
public struct ClusterEmit: Sendable, Equatable {
    /// The event name.
    public var event: String
    /// The arguments after the event name (binary attachments as `.binary`).
    public var arguments: [JSONValue]
    /// The namespace, such as `/`.
    public var namespace: String
    /// The rooms (a sid is a room) whose members get it; nil means everyone in the namespace.
    public var rooms: [String]?
    /// Sids that must not get it.
    public var skip: [String]
    /// When the emitting node wants acknowledgements: where to send them.
    public var callback: RemoteCallback?

    /// - Parameters:
    ///   - event: the event name.
    ///   - arguments: the arguments after the name; default none.
    ///   - namespace: the namespace; default `/`.
    ///   - rooms: the target rooms; default nil, everyone in the namespace.
    ///   - skip: sids left out; default none.
    ///   - callback: where acknowledgements go; default nil, none asked.
    public init(
        event: String, arguments: [JSONValue] = [], namespace: String = "/", rooms: [String]? = nil, skip: [String] = [],
        callback: RemoteCallback? = nil
    ) {
        self.event = event
        self.arguments = arguments
        self.namespace = namespace
        self.rooms = rooms
        self.skip = skip
        self.callback = callback
    }
}

/// Where a client's acknowledgement of a remote emit goes back to: python-socketio's
/// `callback: [room, namespace, id]` plus the emitting node's `host_id`.
public struct RemoteCallback: Sendable, Equatable {
    /// The emitting node's host id.
    public var host: String
    /// The room (normally one sid) the emit was addressed to.
    public var room: String
    /// The namespace of the emit.
    public var namespace: String
    /// The emitting node's callback id.
    public var id: Int64

    /// - Parameters:
    ///   - host: the emitting node's host id.
    ///   - room: the room the emit was addressed to.
    ///   - namespace: the namespace of the emit.
    ///   - id: the emitting node's callback id.
    public init(host: String, room: String, namespace: String, id: Int64) {
        self.host = host
        self.room = room
        self.namespace = namespace
        self.id = id
    }
}

/// Carries this node's room and broadcast operations to the other nodes (python-socketio's pub/sub
/// manager). Set ``SocketIOServer/adapter``; operations that arrive from other nodes go to
/// ``SocketIOServer/apply(_:)``.
public protocol ClusterAdapter: AnyObject {
    /// Hands `operation` to the other nodes; the local node has already applied it. Service thread; must
    /// not block.
    func publish(_ operation: ClusterOperation)
}
