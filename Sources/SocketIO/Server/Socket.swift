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
    /// The transport carrying it now.
    public var transport: TransportName { client.session.transport.name }
    /// When it joined its namespace here, on the engine's clock (milliseconds).
    public let connectedAt: Int64
    /// The application's own state for this socket (Socket.IO's `socket.data`): reached in one load
    /// from every handler call, where a table keyed by sid would hash the sid each time.
    public var data: AnyObject?
    /// Whether the socket is still connected.
    public private(set) var isConnected = true
    /// The private session id sent in the CONNECT reply when connection state recovery is on (nil when off):
    /// the secret a returning client shows to get this socket's state back.
    let pid: String?
    /// Whether this socket continues a session that dropped (connection state recovery): same sid, rooms and
    /// `data`, and the packets it missed were sent right after the CONNECT reply.
    public let recovered: Bool
    /// Whether this socket arrived from another node with its session (it connected there).
    public let movedIn: Bool
    let client: ClientConnection
    /// This socket's slot in its namespace's ``RecipientList`` while it is a member; -1 otherwise.
    var recipientIndex = -1
    /// An acknowledgement still owed by the client: what to call, and its timeout if it has one.
    struct PendingAck {
        let callback: (Result<[JSONValue], AckFailure>) -> Void
        var timer: EngineTimer?
    }
    /// What the client still owes, bounded by the configuration's `maxPendingAcks`.
    private var acks: PendingAcks<PendingAck>
    /// The events this socket may send (SocketIOServer+Budget.swift).
    var eventBudget: ClientBudget

    init(
        id: String, namespace: Namespace, auth: JSONValue?, client: ClientConnection, pid: String? = nil, recovered: Bool = false, movedIn: Bool = false
    ) {
        self.id = id
        self.movedIn = movedIn
        self.namespace = namespace
        self.auth = auth
        self.client = client
        self.pid = pid
        self.recovered = recovered
        acks = PendingAcks(limit: client.server.configuration.maxPendingAcks)
        let engine = client.server.engine
        connectedAt = engine.now
        eventBudget = engine.configuration.budgets.budget(.events, now: engine.now)
    }

    /// Sends an event to this client. With `ack`, the client's acknowledgement is handed to it; it is not
    /// called if the acknowledgement never comes (the socket disconnects, or more than `maxPendingAcks`
    /// newer ones wait). ``emit(_:_:timeout:ack:)`` says why instead, and can time out.
    public func emit(_ event: String, _ arguments: [JSONValue] = [], ack: (([JSONValue]) -> Void)? = nil) {
        guard isConnected else { return }
        guard let ack else {
            let namespace = self.namespace  // one load of the unowned reference for every use
            if let observer = namespace.observer { observer.socket(self, sent: event, arguments) }
            if let recovery = namespace.recovery {
                // Kept in the namespace's log, addressed to this socket's sid room, with its offset.
                recovery.record(event, arguments, namespace: namespace.name, target: .init(rooms: [id], skip: [])).send(on: client.session)
            } else {
                EncodedPacket(event: event, arguments, namespace: namespace.name, parser: namespace.parser).send(on: client.session)
            }
            return
        }
        emitExpectingAck(event, arguments, timeout: nil) { result in
            if case .success(let arguments) = result { ack(arguments) }
        }
    }

    /// Sends an event that asks for an acknowledgement, keeping `callback` (within the bound) until the
    /// answer, the timeout, or the socket's end.
    func emitExpectingAck(
        _ event: String, _ arguments: [JSONValue], timeout: Int64?, _ callback: @escaping (Result<[JSONValue], AckFailure>) -> Void
    ) {
        let (ackID, evicted) = acks.add(PendingAck(callback: callback))
        if let evicted {
            evicted.timer?.cancel()
            if acks.droppedInEpisode == 1 {
                client.log.warn(
                    "acknowledgements: \(acks.limit) waiting for sid=\(id) peer=\(peer) namespace=\(namespace.name); dropping the oldest (further drops counted until the client answers one)")
            }
            evicted.callback(.failure(AckFailure(.dropped)))
        }
        if let timeout {
            // Captured strongly (a weak reference would give every such socket a side table): the timer lets
            // go of its closure when it fires or is cancelled, and the socket's end cancels it.
            let timer = client.server.engine.schedule(after: timeout) { [self] in ackTimedOut(ackID) }
            acks.update(ackID) { $0.timer = timer }
        }
        namespace.observer?.socket(self, sent: event, arguments)
        EncodedPacket(event: event, arguments, namespace: namespace.name, ackID: ackID, parser: namespace.parser).send(on: client.session)
    }

    private func ackTimedOut(_ ackID: UInt64) {
        acks.expire(ackID)?.callback(.failure(AckFailure(.timedOut)))
        if keptForAcks, acks.count == 0 { client.server.releaseMovedAcks(of: self) }
    }

    // MARK: Acknowledgements across a move to another node

    /// Set when the socket moved to another node still owed acknowledgements: it stays here, disconnected,
    /// only to run their callbacks when the answers come back from there, or their timeouts pass here
    /// (``SocketIOServer/movedAckSockets``).
    private(set) var keptForAcks = false

    /// The acknowledgements still owed and the next ack id: they move with the socket, so that the client's
    /// answer, wherever it arrives, goes back to the callback waiting here.
    var owedAcks: (ids: [UInt64], next: UInt64) { (acks.waitingIDs, acks.nextAckID) }

    /// The socket moves away owing acknowledgements: it leaves its namespace like any other, but its callbacks
    /// wait here for the answers relayed back.
    func keepAcksAfterMove() {
        isConnected = false
        keptForAcks = true
    }

    /// Takes over the acknowledgements the client owed the node the socket came from: an answer to one of
    /// them goes to `relay`, which sends it back there.
    func adoptOwedAcks(_ ids: [UInt64], next: UInt64, relay: @escaping (UInt64, Result<[JSONValue], AckFailure>) -> Void) {
        acks.adopt(ids, continuingAt: next) { id in PendingAck(callback: { relay(id, $0) }, timer: nil) }
    }

    /// An answer (or its failure) relayed back from the node the socket moved to. False once nothing is owed
    /// any more.
    func settleMovedAck(id: UInt64, _ result: Result<[JSONValue], AckFailure>) -> Bool {
        if let pending = acks.expire(id) {
            pending.timer?.cancel()
            pending.callback(result)
        }
        return acks.count > 0
    }

    /// Sends an already encoded event (a broadcast encodes once for every recipient).
    func send(encoded: EncodedPacket) {
        guard isConnected else { return }
        encoded.send(on: client.session)
    }

    func send(_ packet: SocketIOPacket) {
        var packet = packet
        if packet.type == .connect, client.speaksV2 {
            // Socket.IO 2's CONNECT reply carries nothing: its client knows its sid from Engine.IO.
            packet.data = nil
        }
        EncodedPacket(packet, parser: namespace.parser).send(on: client.session)
    }

    /// The client acknowledged one of our emits.
    func receiveAck(id: UInt64, arguments: [JSONValue]) {
        guard let pending = acks.answer(id) else {
            client.log.debug("ack for unknown id=\(id) sid=\(self.id)")
            return
        }
        pending.timer?.cancel()
        pending.callback(.success(arguments))
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
        if acks.droppedTotal > 0 {
            client.log.info("acknowledgements: sid=\(id) peer=\(peer) left with \(acks.droppedTotal) dropped unanswered at the bound of \(acks.limit)")
        }
        for pending in acks.removeAll() {
            pending.timer?.cancel()
            pending.callback(.failure(AckFailure(.disconnected)))
        }
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

    /// Whether a socket that left for this reason keeps its state for the recovery window (the reference
    /// server's list: the connection was lost, not closed on purpose by either side).
    var isRecoverable: Bool {
        switch self {
        case .transportClose, .transportError, .pingTimeout, .forcedClose, .serverShuttingDown: true
        case .clientNamespaceDisconnect, .serverNamespaceDisconnect, .parseError: false
        }
    }

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

/// A packet encoded once into the Engine.IO messages that carry it (text, then binary attachments; or, with
/// the msgpack parser, one binary message). A broadcast shares these bytes among all its recipients;
/// nothing is copied per recipient.
public struct EncodedPacket {
    let text: EnginePacket
    let attachments: [EnginePacket]

    /// - Parameters:
    ///   - packet: the packet.
    ///   - parser: the server's wire format; default JSON.
    public init(_ packet: SocketIOPacket, parser: SocketIOParser = .json) {
        switch parser {
        case .json: self.init(packet.encode())
        case .msgpack: self.init(msgpack: packet.encodeMsgPack())
        }
    }

    /// An event, encoded without first building its `[name, args…]` array (the path of every emit).
    public init(event name: String, _ arguments: [JSONValue], namespace: String = "/", ackID: UInt64? = nil, parser: SocketIOParser = .json) {
        switch parser {
        case .json: self.init(SocketIOPacket.encodeEvent(name, arguments, namespace: namespace, ackID: ackID))
        case .msgpack: self.init(msgpack: SocketIOPacket.encodeMsgPackEvent(name, arguments, namespace: namespace, ackID: ackID))
        }
    }

    /// An event carrying a connection-state-recovery offset as its last argument (never with an ack).
    init(event name: String, _ arguments: [JSONValue], namespace: String, offset: String, parser: SocketIOParser = .json) {
        switch parser {
        case .json: self.init(SocketIOPacket.encodeEvent(name, arguments, namespace: namespace, offset: offset))
        case .msgpack:
            self.init(msgpack: SocketIOPacket.encodeMsgPackEvent(name, arguments, namespace: namespace, ackID: nil, trailing: offset))
        }
    }

    /// The bytes of every message carrying the packet (what a kept copy costs).
    var byteCount: Int { attachments.reduce(text.payload.count) { $0 + $1.payload.count } }

    private init(_ encoded: (text: [UInt8], attachments: [[UInt8]])) {
        text = .message(encoded.text)
        attachments = encoded.attachments.isEmpty ? [] : encoded.attachments.map(EnginePacket.binary)
    }

    private init(msgpack bytes: [UInt8]) {
        text = .binary(bytes)
        attachments = []
    }

    /// The packet these messages carry, attachments put back in (a msgpack message decodes whole).
    func decoded() throws(SocketIOPacketError) -> SocketIOPacket {
        if text.isBinary { return try SocketIOPacket.decodeMsgPack(text.payload) }
        return try SocketIOPacket.decode(text.payload).reconstructingBinary(attachments.map(\.payload))
    }

    /// Whether every recipient can share one text frame (``SharedTextFrame``): a text packet without
    /// attachments, not a msgpack message.
    var isSharedText: Bool { attachments.isEmpty && !text.isBinary }

    /// The Engine.IO messages, in wire order.
    var enginePackets: [EnginePacket] { [text] + attachments }

    /// Queues the packet on `session`: the common single-message packet without building an array.
    func send(on session: EngineSession) {
        if attachments.isEmpty {
            session.send(text)
        } else {
            session.send(enginePackets)
        }
    }
}

extension Socket {
    /// Disconnects the socket; with `closingConnection` its whole Engine.IO session closes too (Socket.IO's
    /// `disconnect(true)`), taking the client's other namespaces with it.
    public func disconnect(closingConnection: Bool) {
        guard closingConnection else { return disconnect() }
        let session = client.session
        disconnect()
        session.close(reason: .forcedClose)
    }
}
