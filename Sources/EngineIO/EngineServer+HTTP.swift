/// Plain HTTP on the engine's path: CORS preflights, polling handshakes, GETs and POSTs.
extension EngineServer {
    /// Handles one complete HTTP request on the engine's path.
    /// - Parameters:
    ///   - request: the request, body included.
    ///   - responder: where the answer goes, now or (a held poll) later.
    ///   - onAbandon: lets a held poll register what to do if the client disconnects first.
    public func handle(_ request: HTTPRequest, responder: any HTTPResponder, onAbandon: (@escaping () -> Void) -> Void) {
        let cors = configuration.cors.responseHeaders(origin: request.origin)
        if request.method == .options {
            responder.respond(preflight(request))
            return
        }
        switch route(request, arrivingOn: nil) {
        case .failure(let error):
            logRefusal(error, request)
            responder.respond(error.response(headers: cors))
        case .success(.handshake(let kind)):
            guard let make = kind.makeForHTTP else { return }  // route() only hands over kinds that travel over HTTP
            if let refusal = admitHandshake(request) { return responder.respond(refusal.response(headers: cors)) }
            let transport = make(configuration)
            openSession(peer: request.peer, transport: transport, version: EngineProtocolVersion(query: request.query) ?? .v4)
            if let error = transport.handle(request, responder: responder, headers: cors, onAbandon: onAbandon) {
                logRefusal(error, request)
                responder.respond(error.response(headers: cors))
            }
        case .success(.releasedAfterClose):
            let v3 = request.query["EIO"] == "3"
            responder.respond(HTTPResponse.ok(v3 ? Array("1:6".utf8) : [EnginePacketType.noop.digit], headers: cors))
        case .success(.elsewhere(let node, _)):
            forward(request, to: node, responder: responder, headers: cors, onAbandon: onAbandon)
        case .success(.existing(let session, _)):
            if let error = session.transport.handle(request, responder: responder, headers: cors, onAbandon: onAbandon) {
                logRefusal(error, request)
                responder.respond(error.response(headers: cors))
            }
        }
    }

    /// A POST the binding refuses before reading its body (over maxPayload, or without a usable length):
    /// logged, answered with the JSON error, and for an oversize body the session it was meant for ends
    /// (its client would only retry the same body).
    public func refuseBody(of request: HTTPRequest, _ error: EngineRequestError) -> HTTPResponse {
        logRefusal(error, request)
        if error.status == 413, let sid = request.query["sid"], let session = session(id: sid) {
            session.close(reason: .transportError)
        }
        return error.response(headers: configuration.cors.responseHeaders(origin: request.origin))
    }

    /// A CORS preflight: 204 with the allowed methods and headers, or 400 for an origin not allowed.
    func preflight(_ request: HTTPRequest) -> HTTPResponse {
        guard configuration.cors.allows(origin: request.origin) else {
            let error = EngineRequestError.forbiddenOrigin("preflight from origin \(LogSafe.text(request.origin ?? ""))")
            logRefusal(error, request)
            return error.response()
        }
        var headers = configuration.cors.responseHeaders(origin: request.origin)
        headers.append(HTTPHeader("Access-Control-Allow-Methods", "GET, POST, OPTIONS"))
        if let requested = request.requestedHeaders {
            headers.append(HTTPHeader("Access-Control-Allow-Headers", requested))
        }
        headers.append(HTTPHeader("Access-Control-Max-Age", "86400"))
        return HTTPResponse(status: 204, headers: headers)
    }
}
