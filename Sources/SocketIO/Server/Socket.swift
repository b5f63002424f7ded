import EngineIO

/// One client's membership in one namespace: what handlers receive and what they emit through.
/// Service thread only.
public final class Socket {
    /// The Socket.IO sid (not the Engine.IO one), as sent in the CONNECT reply.
    public let id: String
    /// The namespace this socket joined.
    public unowned let namespace: Namespace
    /// The auth object the client sent with CONNECT, if any.
    public let auth: JSONValue?
    /// The client's address.
    public var peer: String { client.session.peer }
    /// The Engine.IO session carrying this socket.
    public var engineSessionID: String { client.session.id }
    /// The application's own state for this socket (Socket.IO's `socket.data`): reached in one load
    /// from every handler call, where a table keyed by sid would hash the sid each time.
    public var data: AnyObject?
    /// Whether the socket is still connected.
    public private(set) var isConnected = true
    let client: ClientConnection
    private var nextAckID: UInt64 = 0
    private var pendingAcks: [UInt64: ([JSONValue]) -> Void] = [:]

    init(id: String, namespace: Namespace, auth: JSONValue?, client: ClientConnection) {
        self.id = id
        self.namespace = namespace
        self.auth = auth
        self.client = client
    }

    /// Sends an event to this client. With `ack`, the client's acknowledgement is handed to it.
    public func emit(_ event: String, _ arguments: [JSONValue] = [], ack: (([JSONValue]) -> Void)? = nil) {
        guard isConnected else { return }
        var ackID: UInt64?
        if let ack {
            ackID = nextAckID
            pendingAcks[nextAckID] = ack
            nextAckID &+= 1
        }
        EncodedPacket(event: event, arguments, namespace: namespace.name, ackID: ackID).send(on: client.session)
    }

    /// Sends an already encoded event (a broadcast encodes once for every recipient).
    func send(encoded: EncodedPacket) {
        guard isConnected else { return }
        encoded.send(on: client.session)
    }

    func send(_ packet: SocketIOPacket) {
        EncodedPacket(packet).send(on: client.session)
    }

    /// The client acknowledged one of our emits.
    func receiveAck(id: UInt64, arguments: [JSONValue]) {
        guard let callback = pendingAcks.removeValue(forKey: id) else {
            client.log.debug("ack for unknown id=\(id) sid=\(self.id)")
            return
        }
        callback(arguments)
    }

    /// Disconnects the client from this namespace (it gets a DISCONNECT packet; the Engine.IO
    /// session stays for its other namespaces).
    public func disconnect() {
        guard isConnected else { return }
        send(SocketIOPacket(type: .disconnect, namespace: namespace.name))
        client.remove(self, reason: .serverNamespaceDisconnect)
    }

    func markDisconnected() {
        isConnected = false
        pendingAcks.removeAll()
    }
}

/// Why a socket left its namespace, with the reference servers' wording.
public enum SocketDisconnectReason: String, Sendable {
    case clientNamespaceDisconnect = "client namespace disconnect"
    case serverNamespaceDisconnect = "server namespace disconnect"
    case transportClose = "transport close"
    case transportError = "transport error"
    case pingTimeout = "ping timeout"
    case parseError = "parse error"
    case forcedClose = "forced close"
    case serverShuttingDown = "server shutting down"

    init(_ engineReason: DisconnectReason) {
        switch engineReason {
        case .transportClose: self = .transportClose
        case .transportError: self = .transportError
        case .pingTimeout: self = .pingTimeout
        case .forcedClose: self = .forcedClose
        case .parseError: self = .parseError
        case .serverShutdown: self = .serverShuttingDown
        }
    }
}

/// An acknowledgement the client asked for; calling it sends the ACK packet, once.
public struct Ack {
    let socket: Socket
    let id: UInt64

    /// Sends the acknowledgement with `arguments`.
    public func callAsFunction(_ arguments: [JSONValue] = []) {
        socket.send(SocketIOPacket(type: .ack, namespace: socket.namespace.name, ackID: id, data: .array(arguments)))
    }
}

/// A packet encoded once into the Engine.IO messages that carry it (text, then binary attachments).
/// A broadcast shares these bytes among all its recipients; nothing is copied per recipient.
public struct EncodedPacket {
    let text: EnginePacket
    let attachments: [EnginePacket]

    public init(_ packet: SocketIOPacket) {
        self.init(packet.encode())
    }

    /// An event, encoded without first building its `[name, args…]` array (the path of every emit).
    public init(event name: String, _ arguments: [JSONValue], namespace: String = "/", ackID: UInt64? = nil) {
        self.init(SocketIOPacket.encodeEvent(name, arguments, namespace: namespace, ackID: ackID))
    }

    private init(_ encoded: (text: [UInt8], attachments: [[UInt8]])) {
        text = .message(encoded.text)
        attachments = encoded.attachments.isEmpty ? [] : encoded.attachments.map(EnginePacket.binary)
    }

    /// The Engine.IO messages, in wire order.
    var enginePackets: [EnginePacket] { [text] + attachments }

    /// Queues the packet on `session`: the common text-only packet without building an array.
    func send(on session: EngineSession) {
        if attachments.isEmpty {
            session.send(text)
        } else {
            session.send(enginePackets)
        }
    }
}
