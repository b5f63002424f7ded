import EngineIO

/// The Socket.IO v5 server on top of an Engine.IO server: namespaces, CONNECT / CONNECT_ERROR,
/// events, acknowledgements and binary attachments. Service thread only.
public final class SocketIOServer: EngineServerDelegate {
    public let engine: EngineServer
    /// The Socket.IO knobs (connectTimeout).
    public let configuration: SocketIOConfiguration
    public var log: Logger { engine.log }
    private(set) var namespaces: [String: Namespace] = [:]
    /// Carries room and broadcast operations to other nodes (a message queue); nil serves this node alone.
    /// Set it before serving. Operations from other nodes come in through ``apply(_:)``.
    public var adapter: (any ClusterAdapter)? {
        didSet { for namespace in namespaces.values { namespace.adapter = adapter } }
    }
    /// Hears of connects, disconnects, rooms and events (the Admin UI); nil, the default, costs one branch.
    /// Service thread.
    public var observer: (any SocketIOObserver)? {
        didSet { for namespace in namespaces.values { namespace.observer = observer } }
    }

    /// With connection state recovery on: where dropped sessions are kept so that any node can restore them
    /// (the message queue's Redis); nil keeps them in this process. Set it before serving.
    public var recoveryStore: (any RecoveryStore)? {
        didSet { for namespace in namespaces.values { namespace.recovery?.store = recoveryStore } }
    }
    /// With a recovery store: how many takes each client address may still send to it (a flood of random
    /// pids costs Redis a bounded amount of work per address and second).
    var takeBudget = TakeBudget()
    /// Sockets that moved to another node still owed acknowledgements, by ``movedAckKey(_:_:)``: kept,
    /// disconnected, until each answer (relayed back from that node) or timeout has run
    /// (SocketIOServer+Move.swift). At most ``maxMovedAckSockets``; past it a moving socket's acknowledgements
    /// fail as disconnected.
    var movedAckSockets: [String: Socket] = [:]
    static let maxMovedAckSockets = 10_000

    /// Serves Socket.IO over `engine`; becomes its delegate.
    /// - Parameters:
    ///   - engine: the Engine.IO server carrying the connections.
    ///   - configuration: connectTimeout; default the reference server's 45 s.
    public init(engine: EngineServer, configuration: SocketIOConfiguration = SocketIOConfiguration()) {
        self.engine = engine
        self.configuration = configuration
        engine.delegate = self
    }

    /// The namespace called `name` (created on first use). Only created namespaces accept clients.
    /// - Parameters:
    ///   - name: the namespace, such as `/`.
    ///   - recovers: whether it keeps connection state recovery's log when the configuration turns recovery
    ///     on; default true. A namespace whose events are only worth live (the Admin UI's) says false.
    public func namespace(_ name: String, recovers: Bool = true) -> Namespace {
        if let existing = namespaces[name] { return existing }
        let created = Namespace(name: name)
        created.parser = configuration.parser
        created.adapter = adapter
        created.observer = observer
        if configuration.recoveryWindow > 0, recovers {
            created.recovery = ConnectionStateRecovery(configuration: configuration, engine: engine)
            created.recovery?.store = recoveryStore
        }
        namespaces[name] = created
        return created
    }

    /// Every namespace the application created, by name (the fixed set `/metrics` labels with).
    public var servedNamespaces: [Namespace] { namespaces.values.sorted { $0.name < $1.name } }

    /// The namespace called `name` if it was created; nil otherwise (never creates one).
    func existingNamespace(_ name: String) -> Namespace? { namespaces[name] }

    /// Tells every connected socket goodbye with a DISCONNECT packet (used on shutdown, so clients
    /// do not try to reconnect to a server that is going away on purpose).
    public func disconnectAll() {
        for namespace in namespaces.values {
            for socket in Array(namespace.sockets.values) { socket.disconnect() }
        }
    }

    // MARK: EngineServerDelegate

    public func engineSessionDidOpen(_ session: EngineSession) {
        let client = ClientConnection(session: session, server: self)
        session.context = client
        if configuration.connectTimeout > 0 {
            // Captured strongly (no weak reference, so no side table slowing the client's refcounting): the
            // timer lets go of its closure when it fires or is cancelled, which the first join and the
            // session's end both do.
            client.connectTimer = engine.schedule(after: configuration.connectTimeout) { [client] in
                guard client.sockets.isEmpty else { return }
                client.log.info("no namespace joined within connectTimeout sid=\(client.session.id) peer=\(client.session.peer); closing")
                client.session.close(reason: .forcedClose)
            }
        }
        if client.speaksV2 {
            // Socket.IO 2 joins the default namespace with the Engine.IO connection: its client sends no
            // CONNECT for `/` and waits for the server's.
            guard admitNamespaceConnect(client, to: "/") else { return }
            connect(client, to: "/", auth: nil)
        }
    }

    public func engineSession(_ session: EngineSession, didCloseWith reason: DisconnectReason) {
        guard let client = session.context as? ClientConnection else { return }
        client.removeAll(reason: SocketDisconnectReason(reason))
        session.context = nil
    }

    public func engineSessionDidUpgrade(_ session: EngineSession) {
        guard let observer, let client = session.context as? ClientConnection else { return }
        for socket in client.sockets { observer.socketUpgraded(socket) }
    }

    public func engineSession(_ session: EngineSession, didReceive message: EnginePacket) {
        guard let client = session.context as? ClientConnection else { return }
        if configuration.parser == .msgpack {
            receiveMsgPack(message, client: client)
            return
        }
        if message.isBinary {
            do throws(SocketIOPacketError) {
                try receiveAttachment(message.payload, client: client)
            } catch {
                refuse(error, session: session)
            }
            return
        }
        message.payload.withUnsafeBytes { receiveText($0, client: client) }
    }

    public func engineSession(_ session: EngineSession, didReceiveText text: UnsafeRawBufferPointer) {
        guard let client = session.context as? ClientConnection else { return }
        if configuration.parser == .msgpack {
            refuse(SocketIOPacketError(.invalidMsgPack, "a text message, but this server's parser is msgpack (--parser)"), session: session)
            return
        }
        receiveText(text, client: client)
    }

    /// With the msgpack parser every packet is one binary message, binaries inside: nothing to reassemble.
    private func receiveMsgPack(_ message: EnginePacket, client: ClientConnection) {
        do throws(SocketIOPacketError) {
            guard message.isBinary else {
                throw SocketIOPacketError(.invalidMsgPack, "a text message, but this server's parser is msgpack (--parser)")
            }
            dispatch(try SocketIOPacket.decodeMsgPack(message.payload), client: client)
        } catch {
            refuse(error, session: client.session)
        }
    }

    /// A text packet, decoded where it lies (a WebSocket's receive buffer or a polling body).
    private func receiveText(_ text: UnsafeRawBufferPointer, client: ClientConnection) {
        do throws(SocketIOPacketError) {
            guard client.partialBinary == nil else {
                throw SocketIOPacketError(.attachmentMismatch, "text packet while binary attachments were expected")
            }
            let packet = try SocketIOPacket.decode(text.assumingMemoryBound(to: UInt8.self))
            if packet.type.isBinary {
                // Refused before any attachment is taken: a client may not make the server hold attachments
                // for a namespace it never joined (the reference server closes on any packet to one).
                guard client.socket(in: packet.namespace) != nil else {
                    log.limited(.warn, cause: "binary-unjoined", source: client.session.peer, "binary packet for unjoined namespace \(LogSafe.text(packet.namespace)) sid=\(client.session.id) peer=\(client.session.peer); closing")
                    client.session.close(reason: .parseError)
                    return
                }
                if packet.attachmentCount > 0 {
                    client.partialBinary = PendingBinaryPacket(packet: packet, byteLimit: engine.configuration.maxPayload)
                    return
                }
            }
            dispatch(packet, client: client)
        } catch {
            refuse(error, session: client.session)
        }
    }

    private func refuse(_ error: SocketIOPacketError, session: EngineSession) {
        log.limited(.warn, cause: "bad-socketio-packet", source: session.peer, "bad Socket.IO packet sid=\(session.id) peer=\(session.peer): \(error); closing")
        session.close(reason: .parseError)
    }

    /// The next attachment of the pending binary packet; taken out of the client while it grows, so the
    /// attachments array stays unique (no copy per attachment).
    private func receiveAttachment(_ bytes: [UInt8], client: ClientConnection) throws(SocketIOPacketError) {
        guard var pending = client.partialBinary.take() else {
            throw SocketIOPacketError(
                .attachmentMismatch, "binary message with no binary packet before it (a msgpack client? this server's --parser is json)")
        }
        try pending.add(bytes)
        guard pending.isComplete else {
            client.partialBinary = pending
            return
        }
        dispatch(try pending.packet.reconstructingBinary(pending.attachments), client: client)
    }

    // MARK: Dispatch

    private func dispatch(_ packet: consuming SocketIOPacket, client: ClientConnection) {
        switch packet.type {
        case .connect:
            if client.speaksV2, let query = packet.namespace.firstIndex(of: "?") {
                // Socket.IO 2 puts its query in the namespace (`/admin?token=…`); the namespace is what precedes it.
                packet.namespace = String(packet.namespace[..<query])
            }
            guard admitNamespaceConnect(client, to: packet.namespace) else { return }
            connect(client, to: packet.namespace, auth: packet.data)
        case .disconnect:
            if let socket = client.socket(in: packet.namespace) {
                client.remove(socket, reason: .clientNamespaceDisconnect)
            }
        case .event, .binaryEvent:
            guard let socket = client.socket(in: packet.namespace), let name = packet.eventName else {
                log.debug("event for unjoined namespace \(LogSafe.text(packet.namespace)) sid=\(client.session.id); ignored")
                return
            }
            guard admitEvent(on: socket) else { return }
            if let observer = socket.namespace.observer { observer.socket(socket, received: name, Self.eventArguments(of: packet)) }
            let ack = packet.ackID.map { Ack(socket: socket, id: $0) }
            socket.namespace.dispatch(name, Self.takeEventArguments(from: &packet), from: socket, ack: ack)
        case .ack, .binaryAck:
            guard let socket = client.socket(in: packet.namespace), let id = packet.ackID else { return }
            socket.receiveAck(id: id, arguments: Array(packet.arguments))
        case .connectError:
            log.warn("client sent CONNECT_ERROR sid=\(client.session.id); closing")
            client.session.close(reason: .parseError)
        }
    }

    /// The arguments after the event name, copied (for an observer; the handler then takes them).
    private static func eventArguments(of packet: borrowing SocketIOPacket) -> [JSONValue] {
        guard case .array(let elements)? = packet.data else { return [] }
        return Array(elements.dropFirst())
    }

    /// The arguments after the event name, taken out of the packet: with the packet's own reference
    /// dropped the array is unique, so the name is removed in place instead of copying the rest.
    private static func takeEventArguments(from packet: inout SocketIOPacket) -> [JSONValue] {
        guard case .array(var elements)? = packet.data, !elements.isEmpty else { return [] }
        packet.data = nil
        elements.removeFirst()
        return elements
    }

    private func connect(_ client: ClientConnection, to name: String, auth: JSONValue?) {
        guard let namespace = namespaces[name] else {
            log.limited(.info, cause: "refused-namespace", source: client.session.peer, "refused namespace \(LogSafe.text(name)) sid=\(client.session.id) peer=\(client.session.peer): not served")
            sendConnectError(client, namespace: name, message: "Invalid namespace")
            return
        }
        if client.socket(in: name) != nil || client.restoring.contains(name) {
            log.debug("duplicate CONNECT to \(LogSafe.text(name)) sid=\(client.session.id); ignored")
            return
        }
        if let refusal = namespace.authorize?(auth, client.session.peer) {
            log.limited(.info, cause: "refused-namespace", source: client.session.peer, "refused namespace \(LogSafe.text(name)) sid=\(client.session.id) peer=\(client.session.peer): \(LogSafe.text(refusal))")
            sendConnectError(client, namespace: name, message: refusal)
            return
        }
        let auth = namespace.keptAuth.map { $0(auth) } ?? auth
        guard let recovery = namespace.recovery else {
            let socket = Socket(id: SessionID.make(), namespace: namespace, auth: auth, client: client)
            client.add(socket)
            namespace.connects &+= 1
            socket.send(SocketIOPacket(type: .connect, namespace: name, data: ["sid": .string(socket.id)]))
            namespace.onConnect?(socket)
            namespace.observer?.socketConnected(socket)
            return
        }
        connectRecovering(client, to: namespace, auth: auth, recovery: recovery)
    }

    /// CONNECT with connection state recovery on: a client whose auth carries the `pid` and `offset` of a
    /// session kept within the window gets that session back (sid, rooms, data) and every packet it missed,
    /// in order, right after the CONNECT reply and before anything newer; any other gets a new session with
    /// a fresh pid.
    private func connectRecovering(_ client: ClientConnection, to namespace: Namespace, auth: JSONValue?, recovery: ConnectionStateRecovery) {
        if let store = recovery.store {
            if let pid = auth?["pid"]?.stringValue, let offset = auth?["offset"]?.stringValue {
                if !StoredSession.isSessionID(pid) {
                    // Not an id this server hands out: no Redis key is made of it.
                    recovery.counts.refuse(.unknownSession)
                    log.limited(.info, cause: "recovery-refused", source: client.session.peer, "recovery refused namespace=\(LogSafe.text(namespace.name)) peer=\(client.session.peer): \(RecoveryRefusal.unknownSession.rawValue); new session")
                    completeConnect(client, to: namespace, auth: auth, restored: nil)
                } else if !takeBudget.spend(client.session.peer, now: engine.now) {
                    recovery.counts.refuse(.throttled)
                    if let count = takeBudget.noteRefusal(now: engine.now) {
                        log.info("recovery refused namespace=\(LogSafe.text(namespace.name)) peer=\(client.session.peer): too many takes from this address found nothing (budget \(takeBudget.burst), \(takeBudget.perSecond) more a second); new session (\(count) refused so since the last such line)")
                    }
                    completeConnect(client, to: namespace, auth: auth, restored: nil)
                } else {
                    restore(client, to: namespace, auth: auth, pid: pid, offset: offset, recovery: recovery, store: store)
                }
            } else {
                completeConnect(client, to: namespace, auth: auth, restored: nil)
            }
            return
        }
        var restored: RestoredSession?
        if let pid = auth?["pid"]?.stringValue, let offset = auth?["offset"]?.stringValue {
            switch recovery.restore(pid: pid, offset: offset) {
            case .success(let found) where namespace.sockets[found.0.sid] == nil:
                restored = .here(found.0, missed: found.1)
                recovery.counts.restoredHere &+= 1
            case .success(let found):
                recovery.counts.refuse(.sidConnected)
                log.info("recovery refused sid=\(found.0.sid) peer=\(client.session.peer): that sid is connected")
            case .failure(let refusal):
                recovery.counts.refuse(RecoveryRefusalKind(refusal))
                log.info("recovery refused namespace=\(LogSafe.text(namespace.name)) peer=\(client.session.peer): \(refusal.rawValue); new session")
            }
        }
        completeConnect(client, to: namespace, auth: auth, restored: restored)
    }

    private func sendConnectError(_ client: ClientConnection, namespace: String, message: String) {
        let packet = connectError(namespace: namespace, message: message, for: client)
        client.session.send(EncodedPacket(packet, parser: configuration.parser).enginePackets)
    }

    /// A CONNECT_ERROR: `{"message":…}`, or for a Socket.IO 2 client its ERROR packet's plain string.
    func connectError(namespace: String, message: String, for client: ClientConnection) -> SocketIOPacket {
        SocketIOPacket(type: .connectError, namespace: namespace, data: client.speaksV2 ? .string(message) : ["message": .string(message)])
    }
}
