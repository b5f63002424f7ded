import EngineIO

/// A Socket.IO namespace (`/`, `/admin`, …): its handlers and its connected sockets.
/// Register handlers before serving; everything runs on the service thread.
public final class Namespace {
    /// The handler for one event: the socket, the arguments after the event name, and the
    /// acknowledgement when the client asked for one.
    public typealias EventHandler = (Socket, [JSONValue], Ack?) -> Void

    public let name: String
    /// Decides whether a CONNECT is accepted: nil accepts, a string refuses with that message
    /// (sent as CONNECT_ERROR `{"message":…}`). Gets the client's auth object and address (for a
    /// per-address budget of attempts).
    public var authorize: ((_ auth: JSONValue?, _ peer: String) -> String?)?
    /// What a socket keeps of the auth object once ``authorize`` let it in (``Socket/auth``, which also
    /// travels with a session moving to another node and into the recovery store); nil keeps all of it.
    /// A namespace whose auth carries a password drops it here.
    public var keptAuth: ((JSONValue?) -> JSONValue?)?
    /// Runs after the CONNECT reply has been sent, so anything emitted here arrives after it.
    public var onConnect: ((Socket) -> Void)?
    /// Runs once per socket when it leaves, whatever the cause.
    public var onDisconnect: ((Socket, SocketDisconnectReason) -> Void)?
    /// A socket left for another node of the cluster with its session (its client's new connection arrived
    /// there): it has not disconnected, it goes on there. Its `data` went with it.
    public var onMoveOut: ((Socket) -> Void)?
    /// A socket arrived from another node with its session (``Socket/movedIn``), its `data` restored: it
    /// connected there, so it gets no second welcome here.
    public var onMoveIn: ((Socket) -> Void)?
    /// Runs when a socket's events are being dropped over its budget (`--event-rate`), at most once a
    /// second per socket, and once more just before it is disconnected for staying over: the application
    /// tells its user (the chat sends a `system_message`). Without it the client is told nothing but the
    /// disconnect.
    public var onOverBudget: ((Socket, BudgetNotice) -> Void)?
    /// Runs for a message the application on this namespace published on another node
    /// (``publishToPeers(_:_:)``), never for this node's own.
    public var onPeerMessage: ((_ name: String, _ arguments: [JSONValue]) -> Void)?
    /// Runs for events that have no handler of their own.
    public var onUnhandledEvent: ((Socket, String, [JSONValue], Ack?) -> Void)?
    /// With connection state recovery across nodes (a message queue): how the application's `data` of a
    /// dropped socket is written to the store, and read back on the node the client returns to. Without
    /// them a socket recovered on another node has no `data`.
    public var encodeData: ((AnyObject?) -> JSONValue?)?
    public var decodeData: ((JSONValue) -> AnyObject?)?
    /// CONNECTs accepted since the server started, for `/metrics`. Service thread, like the rest.
    public internal(set) var connects = 0
    /// The connected sockets by Socket.IO sid.
    public private(set) var sockets: [String: Socket] = [:]
    /// Handlers in registration order. A namespace has a handful, and the scan compares short names
    /// (in-line, no hashing) for every event.
    private var handlers: [(event: String, handler: EventHandler)] = []
    /// The sockets' sessions in one contiguous array, for broadcasts to everyone (RecipientList.swift).
    var recipients = RecipientList()
    /// Named rooms (Namespace+Rooms.swift).
    var rooms = RoomTable()
    /// Carries broadcasts to the other nodes when a message queue is configured (set by the server).
    var adapter: (any ClusterAdapter)?
    /// Hears what happens here (set by the server, ``SocketIOServer/observer``); nil costs one branch.
    public internal(set) var observer: (any SocketIOObserver)?
    /// Connection state recovery's log and kept sessions; nil when recovery is off (set by the server).
    var recovery: ConnectionStateRecovery?
    /// The server's wire format for Socket.IO packets (set by the server).
    var parser: SocketIOParser = .json
    /// What connection state recovery did here, for `/metrics`; nil when recovery is off.
    public var recoveryCounts: RecoveryCounts? { recovery?.snapshot }

    init(name: String) {
        self.name = name
    }

    /// Registers the handler for `event`, replacing any earlier one.
    public func on(_ event: String, _ handler: @escaping EventHandler) {
        if let index = handlers.firstIndex(where: { $0.event == event }) {
            handlers[index].handler = handler
        } else {
            handlers.append((event, handler))
        }
    }

    /// Sends an event to every socket in the namespace, on every node when a message queue is configured;
    /// the packet is encoded once for all of them. ``emitLocally(_:_:to:skip:)`` keeps it on this node.
    public func emit(_ event: String, _ arguments: [JSONValue] = []) {
        adapter?.publish(.emit(ClusterEmit(event: event, arguments: arguments, namespace: name)))
        if recovery != nil {
            deliver(event, arguments, rooms: nil, skip: [])
            return
        }
        guard !sockets.isEmpty else { return }
        if let observer { observer.namespace(self, sent: event, arguments, rooms: nil, skip: []) }
        sendToEveryone(EncodedPacket(event: event, arguments, namespace: name, parser: parser))
    }

    /// Hands `name` and `arguments` to this namespace's ``onPeerMessage`` on every other node, through the
    /// message queue; false when there is none (a single node).
    @discardableResult
    public func publishToPeers(_ name: String, _ arguments: [JSONValue]) -> Bool {
        guard let adapter else { return false }
        adapter.publish(.application(namespace: self.name, name: name, arguments: arguments))
        return true
    }

    /// Sends an encoded packet to every socket here: a text packet as one shared frame down the recipient
    /// list, a packet with attachments socket by socket (its messages must stay together per client), and
    /// a msgpack message socket by socket too (a shared frame is a text frame).
    func sendToEveryone(_ encoded: EncodedPacket) {
        guard encoded.isSharedText else {
            for socket in Array(sockets.values) { socket.send(encoded: encoded) }
            return
        }
        sendToEveryone(SharedTextFrame(encoded.text))
    }

    func add(_ socket: Socket) {
        sockets[socket.id] = socket
        recipients.add(socket)
    }

    func remove(_ socket: Socket) {
        sockets.removeValue(forKey: socket.id)
        recipients.remove(socket)
    }

    func dispatch(_ event: String, _ arguments: [JSONValue], from socket: Socket, ack: Ack?) {
        if let entry = handlers.first(where: { $0.event == event }) {
            entry.handler(socket, arguments, ack)
        } else if let onUnhandledEvent {
            onUnhandledEvent(socket, event, arguments, ack)
        } else {
            socket.client.log.debug("no handler for event \"\(LogSafe.text(event))\" sid=\(socket.id)")
        }
    }
}
