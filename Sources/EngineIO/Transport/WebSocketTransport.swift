/// Engine.IO over WebSocket: one packet per frame, always writable (the connection queues).
public final class WebSocketTransport: Transport {
    /// Its registration: a session may start on it; it upgrades to nothing. The binding builds it, with
    /// its socket, through ``EngineServer/openWebSocket(_:connection:)``.
    public static let kind = TransportKind(name: .websocket)

    public let name = TransportName.websocket
    public var isWritable: Bool { !closed }
    /// Strong, and cleared by the session when it closes or lets go of this transport: a weak reference
    /// would cost a side-table load on every packet and slow every retain of the session.
    public var session: EngineSession?
    /// The socket under this transport.
    public let connection: any WebSocketConnection
    /// One packet, one frame: a broadcast's shared frame can go straight to the socket.
    public var frameConnection: (any WebSocketConnection)? { connection }
    /// The largest frame a client may send.
    private let maxPayload: Int
    private var closed = false
    /// Frames received before the transport had a session (its session is on its way from another node):
    /// kept, in order, within ``maxHeldFrames`` and `maxPayload` bytes, for ``releaseHeldPackets()``.
    private var held: [(frame: [UInt8], isBinary: Bool)] = []
    private var heldBytes = 0
    /// A client sends one frame (its `2probe`) before it hears back; a few more is already a misbehaving one.
    static let maxHeldFrames = 16

    /// - Parameters:
    ///   - connection: the socket, already upgraded.
    ///   - maxPayload: the largest accepted incoming frame, in bytes.
    public init(connection: any WebSocketConnection, maxPayload: Int) {
        self.connection = connection
        self.maxPayload = maxPayload
    }

    public func send(_ packets: [EnginePacket]) {
        for packet in packets { send(packet) }
    }

    public func send(_ packet: EnginePacket) {
        guard !closed else { return }
        if packet.isBinary {
            // Engine.IO 3 starts a binary frame with the packet type as a raw byte (4, a message).
            let v3 = session?.protocolVersion == .v3
            connection.sendFrame(v3 ? [EnginePacketType.message.rawValue] + packet.payload : packet.payload, binary: true)
        } else {
            connection.sendText(digit: packet.type.digit, payload: packet.payload)
        }
    }

    public func close() {
        close(reason: .forcedClose)
    }

    /// Closes with 1001 "going away" when the server stops (clients reconnect, to this server restarted or
    /// to another), 1000 otherwise. No Engine.IO close packet goes first: python-engineio's client reads one
    /// as the server ending the session for good and would not reconnect.
    public func close(reason: DisconnectReason) {
        guard !closed else { return }
        closed = true
        connection.close(code: reason == .serverShutdown ? 1001 : 1000)
    }

    public var outbound: OutboundBudget { connection.outbound }

    /// The connection refused a frame: the client has left `queued` bytes (with that frame) untaken, more
    /// than `--max-buffered`. Its session ends with "transport error".
    public func outboundLimitReached(queued: Int) {
        guard !closed, let session else { return }
        session.outboundLimitReached(queued: queued, on: self)
    }

    /// A whole frame arrived (the binding reassembles fragments). Bad frames close the session.
    public func receive(frame: [UInt8], isBinary: Bool) {
        frame.withUnsafeBytes { receive(frame: $0, isBinary: isBinary) }
    }

    /// A whole frame, still in the binding's receive buffer (valid for the duration of the call).
    public func receive(frame: UnsafeRawBufferPointer, isBinary: Bool) {
        guard !closed else { return }
        guard let session else {
            hold(frame, isBinary: isBinary)
            return
        }
        if !isBinary, frame.first == EnginePacketType.message.digit {
            // The common case, a text message: handed over in place, not copied into a packet.
            session.receiveMessage(text: UnsafeRawBufferPointer(rebasing: frame[1...]), from: self)
            return
        }
        do {
            if isBinary, session.protocolVersion == .v3 {
                guard frame.first == EnginePacketType.message.rawValue else { throw EngineDecodingError.unknownType(frame.first ?? 0) }
                session.receive(.binary(Array(UnsafeRawBufferPointer(rebasing: frame[1...]))), from: self)
                return
            }
            let packet = try EnginePacket.decode(webSocketFrame: frame, isBinary: isBinary)
            session.receive(packet, from: self)
        } catch {
            session.log.limited(.warn, cause: "bad-frame", source: session.peer, "bad frame sid=\(session.id) peer=\(session.peer): \(error)")
            closeWithProtocolError(code: 1002, reason: .parseError)
        }
    }

    /// Keeps a frame that arrived before the session (see ``held``); past the bound the connection closes
    /// with 1008 (policy violation).
    private func hold(_ frame: UnsafeRawBufferPointer, isBinary: Bool) {
        guard held.count < Self.maxHeldFrames, heldBytes + frame.count <= maxPayload else {
            closed = true
            held.removeAll()
            connection.close(code: 1008)
            return
        }
        held.append((Array(frame), isBinary))
        heldBytes += frame.count
    }

    public func releaseHeldPackets() {
        let frames = held
        held.removeAll()
        heldBytes = 0
        for entry in frames {
            guard session != nil else { return }
            receive(frame: entry.frame, isBinary: entry.isBinary)
        }
    }

    /// The peer sent more than maxPayload in one message: close with 1009 as the reference servers do.
    public func receivedOversizeFrame(size: Int) {
        guard !closed, let session else { return }
        session.log.limited(.warn, cause: "message-too-big", source: session.peer, "message too big sid=\(session.id) peer=\(session.peer): \(size) bytes > maxPayload \(maxPayload)")
        closeWithProtocolError(code: 1009, reason: .transportError)
    }

    /// The socket is gone (peer closed, network error); the binding calls this exactly once.
    public func connectionClosed() {
        guard !closed else { return }
        closed = true
        session?.transportClosed(self, reason: .transportClose)
    }

    private func closeWithProtocolError(code: UInt16, reason: DisconnectReason) {
        closed = true
        connection.close(code: code)
        session?.transportClosed(self, reason: reason)
    }
}

extension TransportName {
    /// One WebSocket, one packet per frame.
    public static let websocket: TransportName = "websocket"
}

extension EngineServer {
    /// Checks a WebSocket handshake before the upgrade; nil means go ahead.
    public func refusalForWebSocket(_ request: HTTPRequest) -> EngineRequestError? {
        refusal(for: request, arrivingOn: .websocket)
    }

    /// A WebSocket finished its handshake: open a session on it, or start upgrading an existing one.
    /// Returns the transport the binding feeds frames into (its concrete type, so frames reach it without
    /// dynamic dispatch), or nil if the socket must be closed.
    public func openWebSocket(_ request: HTTPRequest, connection: any WebSocketConnection) -> WebSocketTransport? {
        let transport = WebSocketTransport(connection: connection, maxPayload: configuration.maxPayload)
        return open(request, on: transport) ? transport : nil
    }
}
