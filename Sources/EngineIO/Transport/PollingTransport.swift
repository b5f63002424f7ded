/// Engine.IO over HTTP long-polling: the client GETs to receive (the server holds the GET until it has
/// something, a ping at the latest) and POSTs to send. Packets are batched with the record separator.
public final class PollingTransport: Transport {
    /// Its registration: a session may start on it and move to WebSocket; built by the engine for a GET handshake.
    public static let kind = TransportKind(name: .polling, upgradesTo: [.websocket], makeForHTTP: { _ in PollingTransport() })

    public let name = TransportName.polling
    /// Strong, and cleared by the session when it closes or lets go of this transport: a weak reference
    /// would cost a side-table load on every packet and slow every retain of the session.
    public var session: EngineSession?
    public var isWritable: Bool { pendingGET != nil && !closed }
    /// The held GET, with the CORS headers its answer needs and its `t` parameter.
    private var pendingGET: (responder: any HTTPResponder, headers: [HTTPHeader], stamp: String?)?
    private var closed = false
    /// The last answer to a GET, and that GET's `t`: a balancer that lost the answer on its way (a node in
    /// between died) sends the very same request again, `t` and all, and gets the same answer again rather
    /// than the packets (a ping above all) being lost. The client itself never repeats a `t`.
    private var lastAnswer: (stamp: String, response: HTTPResponse)?
    /// The `t` of the last POST taken: the same POST again (a balancer's retry) is answered `ok` and not
    /// delivered twice.
    private var lastPostStamp: String?
    /// Engine.IO 3: the client asked for text-only payloads (`b64=1` on its GETs).
    private var base64 = false
    /// The session's protocol revision (v4 once the session has let go of this transport).
    private var version: EngineProtocolVersion { session?.protocolVersion ?? .v4 }

    public init() {}

    /// The answer to every POST, made once.
    private static let ok = Array("ok".utf8)

    /// python-engineio's client refuses a payload of more than 16 packets.
    public var maxPacketsPerSend: Int { EngineSession.maxPacketsPerPoll }
    /// A GET still held when the session moves is answered once the new transport's frames have left.
    public var lingersAfterUpgrade: Bool { true }

    /// A GET receives (held until there is something), a POST sends; any other method is refused.
    public func handle(
        _ request: HTTPRequest, responder: any HTTPResponder, headers: [HTTPHeader],
        onAbandon: (@escaping () -> Void) -> Void
    ) -> EngineRequestError? {
        let stamp = request.query["t"]
        if request.method == .get { base64 = request.query.contains("b64") }
        switch request.method {
        case .get: receiveGET(responder, headers: headers, stamp: stamp, onAbandon: onAbandon)
        case .post: receivePOST(request.body, responder: responder, headers: headers, stamp: stamp)
        case .options, .other: return .badRequest("method not allowed")
        }
        return nil
    }

    public func send(_ packets: [EnginePacket]) {
        guard let get = pendingGET else { return }
        pendingGET = nil
        let response = payloadResponse(packets, headers: get.headers)
        lastAnswer = get.stamp.map { ($0, response) }
        get.responder.respond(response)
    }

    /// A response carrying `packets` in the session's payload form (v3's length-prefixed one for an
    /// Engine.IO 3 client).
    private func payloadResponse(_ packets: [EnginePacket], headers: [HTTPHeader]) -> HTTPResponse {
        guard version == .v3 else { return HTTPResponse.ok(EnginePacket.encodePollingPayload(packets), headers: headers) }
        let (body, contentType) = EnginePacket.encodePollingPayloadV3(packets, base64: base64)
        return HTTPResponse(status: 200, contentType: contentType, headers: headers, body: body)
    }

    /// Ends the transport. A GET still held learns it with a close packet.
    public func close() {
        close(reason: .forcedClose)
    }

    /// Ends the transport; a GET still held learns it with a close packet, or, when the server stops, with
    /// a 503: python-engineio's client reads a close packet as the server ending the session for good and
    /// never reconnects, while an HTTP error is a transport error to it and to socket.io-client alike, and
    /// both come back by themselves to the restarted server.
    public func close(reason: DisconnectReason) {
        guard !closed else { return }
        closed = true
        guard let get = pendingGET else { return }
        pendingGET = nil
        if reason == .serverShutdown {
            get.responder.respond(
                HTTPResponse(
                    status: 503, contentType: "application/json", headers: get.headers,
                    body: Array("{\"code\":503,\"message\":\"Server shutting down\"}".utf8)))
        } else {
            get.responder.respond(payloadResponse([EnginePacket(.close)], headers: get.headers))
        }
    }

    /// Ends the transport because its session moved to WebSocket. A client that follows the protocol has
    /// no GET left here (it waits for its noop before upgrading); one still held was sent without waiting
    /// and gets the 400 any HTTP request on an upgraded sid gets.
    public func closeAfterUpgrade() {
        guard !closed else { return }
        closed = true
        if let get = pendingGET {
            pendingGET = nil
            get.responder.respond(EngineRequestError.badRequest("session upgraded to websocket").response(headers: get.headers))
        }
    }

    /// A GET for this session: answered now if packets wait, held otherwise.
    /// - Parameter onAbandon: registers what to do if the client drops the held request.
    func receiveGET(_ responder: any HTTPResponder, headers: [HTTPHeader], stamp: String? = nil, onAbandon: (@escaping () -> Void) -> Void) {
        guard !closed, let session else {
            responder.respond(EngineRequestError.unknownSession("session closed").response(headers: headers))
            return
        }
        if let stamp, let last = lastAnswer, last.stamp == stamp {
            session.log.debug("repeated GET sid=\(session.id) t=\(LogSafe.text(stamp)): answered again")
            responder.respond(last.response)
            return
        }
        if let held = pendingGET, held.responder.isPassedOn {
            // The held GET came through another node, which may be gone (killed while holding the client's
            // request), and a balancer that retries a request whose server vanished sends it again through
            // another node: the owner cannot tell that retry from a second GET. The newer one is the client's;
            // the older gets a noop (to nobody, if its node is gone).
            pendingGET = nil
            held.responder.respond(payloadResponse([EnginePacket(.noop)], headers: held.headers))
        }
        if pendingGET != nil {
            // Two GETs at once is a client bug or a hijack attempt; the reference server ends the session.
            session.log.limited(.warn, cause: "overlapping-get", source: session.peer, "overlapping GET sid=\(session.id) peer=\(session.peer); closing session")
            responder.respond(EngineRequestError.badRequest("overlapping GET").response(headers: headers))
            session.transportClosed(self, reason: .transportError)
            close()
            return
        }
        pendingGET = (responder, headers, stamp)
        lastAnswer = nil
        onAbandon { [weak self] in self?.abandoned(responder) }
        session.flush()
    }

    /// A POST for this session: every packet in the body goes to the session, then `ok`.
    func receivePOST(_ body: [UInt8], responder: any HTTPResponder, headers: [HTTPHeader], stamp: String? = nil) {
        guard !closed, let session else {
            responder.respond(EngineRequestError.unknownSession("session closed").response(headers: headers))
            return
        }
        if let stamp {
            guard stamp != lastPostStamp else {
                session.log.debug("repeated POST sid=\(session.id) t=\(LogSafe.text(stamp)): answered ok, not delivered again")
                responder.respond(HTTPResponse.ok(Self.ok, headers: headers))
                return
            }
            lastPostStamp = stamp
        }
        let packets: [EnginePacket]
        do {
            packets = version == .v3 ? try EnginePacket.decodePollingPayloadV3(body) : try EnginePacket.decodePollingPayload(body)
        } catch {
            session.log.limited(.warn, cause: "bad-post-body", source: session.peer, "bad POST body sid=\(session.id) peer=\(session.peer): \(error)")
            responder.respond(EngineRequestError.badRequest("bad POST body: \(error)").response(headers: headers))
            session.transportClosed(self, reason: .parseError)
            close()
            return
        }
        responder.respond(HTTPResponse.ok(Self.ok, headers: headers))
        for packet in packets {
            if packet.type == .close {
                // The client is leaving: release its poll with a noop, as the reference server does. If
                // that GET has not arrived yet (it travels on another connection), it gets the noop when it does.
                if let get = pendingGET {
                    pendingGET = nil
                    get.responder.respond(payloadResponse([EnginePacket(.noop)], headers: get.headers))
                } else {
                    session.server.rememberClientClose(sid: session.id)
                }
            }
            session.receive(packet, from: self)
            if closed { break }
        }
    }

    private func abandoned(_ responder: any HTTPResponder) {
        guard let get = pendingGET, get.responder === responder else { return }
        pendingGET = nil
        guard !closed else { return }
        closed = true
        session?.transportClosed(self, reason: .transportError)
    }
}

extension TransportName {
    /// HTTP long-polling.
    public static let polling: TransportName = "polling"
}
