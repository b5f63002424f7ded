import CLibWebSockets
import EngineIO

/// The one C callback lws calls for every connection (protocols[0]: Engine.IO clients send no
/// subprotocol, so lws binds both their HTTP requests and their WebSockets here). It finds the server
/// through the context's user pointer and the connection's object through the per-session data, and
/// hands each event to Swift. Service thread.
func lwsCallback(
    _ wsi: OpaquePointer?, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
    _ input: UnsafeMutableRawPointer?, _ length: Int
) -> Int32 {
    guard let wsi, let context = lws_get_context(wsi), let serverPointer = lws_context_user(context) else { return 0 }
    // The server outlives its context, so it needs no retain for the length of a callback (lws makes a
    // dozen a polling reply, most of them about poll descriptors).
    return Unmanaged<LWSServer>.fromOpaque(serverPointer)._withUnsafeGuaranteedRef { server in
        if server.isTearingDown {
            // The server is in deinit, destroying its context: release each connection's object without
            // telling the engine (its `ended()` would reach the server through an unowned reference).
            if reason == LWS_CALLBACK_WSI_DESTROY { _ = LWSPeer.detach(from: wsi) }
            return 0
        }
        return server.handle(wsi: wsi, reason: reason, user: user, input: input, length: length)
    }
}

extension LWSServer {
    func handle(
        wsi: OpaquePointer, reason: lws_callback_reasons, user: UnsafeMutableRawPointer?,
        input: UnsafeMutableRawPointer?, length: Int
    ) -> Int32 {
        switch reason {
        case LWS_CALLBACK_RECEIVE:
            guard let socket = LWSPeer.stored(on: wsi) as? LWSWebSocket else { return -1 }
            return socket.received(UnsafeRawBufferPointer(start: input, count: length))

        case LWS_CALLBACK_SERVER_WRITEABLE:
            guard let socket = LWSPeer.stored(on: wsi) as? LWSWebSocket else { return -1 }
            return socket.writable()

        case LWS_CALLBACK_WS_SERVER_DROP_PROTOCOL:
            (LWSPeer.stored(on: wsi) as? LWSWebSocket)?.lwsClosing()
            return 0

        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            return (LWSPeer.stored(on: wsi) as? LWSWebSocket)?.peerInitiatedClose(payloadLength: length) ?? 0

        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
            return filterWebSocket(wsi: wsi)

        case LWS_CALLBACK_ESTABLISHED:
            return openWebSocket(wsi: wsi)

        case LWS_CALLBACK_CLOSED, LWS_CALLBACK_CLOSED_HTTP:
            LWSPeer.stored(on: wsi)?.ended()
            return 0

        case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
            return admitConnection(listener: wsi)

        case LWS_CALLBACK_WSI_CREATE:
            openConnections += 1
            return 0

        case LWS_CALLBACK_WSI_DESTROY:
            openConnections -= 1
            if !connectionsWithBufferedRequest.isEmpty { connectionsWithBufferedRequest.remove(wsi) }
            // An idle exchange leaves the keep-alive watch in its ended().
            LWSPeer.detach(from: wsi)?.ended()
            if case .resumed(let atLimit)? = acceptLimit.closed(leaving: openConnections) {
                log.info("descriptor limit: \(openConnections) connections, accepting again (\(atLimit) let in one at a time meanwhile)")
                // Clears the pause we set; lws itself re-enabled accepting already.
                if let pausedListener { lws_rx_flow_control(pausedListener, 1) }
                pausedListener = nil
            } else if reusePortListener != nil {
                reusePortConnectionClosed()
            }
            return 0

        case LWS_CALLBACK_RAW_RX_FILE:
            // A raw descriptor: one watched for another layer (the Redis subscription), or the --reuse-port
            // listening socket (ReusePortListener).
            if watchedDescriptorReadable(wsi) { return 0 }
            return acceptOnReusePort(wsi)

        case LWS_CALLBACK_RAW_WRITEABLE_FILE:
            // A `--node-link` socket that asked for room to write (or an outbound one that connected).
            watchedDescriptorWritable(wsi)
            return 0

        case LWS_CALLBACK_RAW_CLOSE_FILE:
            if watchedDescriptorClosed(wsi) { return 0 }
            reusePortListenerClosed(wsi)
            return 0

        case LWS_CALLBACK_FILTER_HTTP_CONNECTION:
            // Headers complete; for a file lws serves itself (--static) nothing else replaces the marker.
            if LWSPeer.stored(on: wsi) is LWSAwaitingRequest { _ = LWSPeer.detach(from: wsi) }
            // A keep-alive connection's next request: it leaves the idle watch now rather than at the next
            // sweep, so a sweep walks only connections that are idle (not every polling GET answered since).
            forgetIdleConnection(wsi)
            return filterStaticFile(wsi: wsi, uri: UnsafeRawBufferPointer(start: input, count: length))

        case LWS_CALLBACK_HTTP:
            return beginHTTP(wsi: wsi)

        case LWS_CALLBACK_HTTP_BODY:
            guard let exchange = LWSPeer.stored(on: wsi) as? LWSHTTPExchange else { return 0 }
            guard !exchange.isDispatched else { return exchange.closesAfterResponse ? 0 : refuseRepeatedBody(exchange, "body bytes") }
            return exchange.appendBody(UnsafeRawBufferPointer(start: input, count: length)) ? 0 : refuseSlowBody(exchange)

        case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
            LWSAwaitingRequest(wsi: wsi, server: self).attach()
            return 0

        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
            guard let exchange = LWSPeer.stored(on: wsi) as? LWSHTTPExchange else { return -1 }
            // Once per request: a second completion would be lws re-delivering a finished body (what the
            // paused reads of LWSHTTPExchange prevent); closing bounds it to one turn instead of a spin.
            guard !exchange.isDispatched else {
                return exchange.closesAfterResponse ? 0 : refuseRepeatedBody(exchange, "a second body completion")
            }
            exchange.bodyCompleted()
            dispatchHTTP(exchange)
            return 0

        case LWS_CALLBACK_HTTP_WRITEABLE:
            guard let exchange = LWSPeer.stored(on: wsi) as? LWSHTTPExchange else { return 0 }
            return exchange.writable()

        case LWS_CALLBACK_HTTP_FILE_COMPLETION:
            // A file lws served itself (--static) is out: complete the transaction here, as lws's own
            // handler would, so that a pipelined request behind it is noticed as for any other response.
            return completeTransaction(on: wsi)

        case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
            return confirmUpgrade(wsi: wsi, token: input)

        case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
            inbox.drain()
            return 0

        default:
            return lws_callback_http_dummy(wsi, reason, user, input, length)
        }
    }

    /// A connection was just accepted on `listener`: at the descriptor limit the listener is paused
    /// (``AcceptLimit``), so the rest wait in the listen queue. This one is kept and answered like any other
    /// past the connection limit (503): its descriptor is already taken, so closing it would only turn a
    /// clean refusal into a reset.
    func admitConnection(listener: OpaquePointer) -> Int32 {
        let (pause, event) = acceptLimit.accepted(whileOpen: openConnections)
        guard pause else { return 0 }
        // lws puts the listener back into its poll set whenever a connection closes; taking it out here also
        // ends lws's accept loop for this round (it checks the listener's events before each accept).
        lws_rx_flow_control(listener, 0)
        pausedListener = listener
        if event == .paused {
            log.warn(
                "descriptor limit: \(openConnections) connections (open-files limit less a reserve), not accepting "
                    + "until some close; the rest wait in the listen queue (raise the open-files limit for more)")
        }
        return 0
    }

    // MARK: WebSocket

    /// Before the upgrade: refuse handshakes the engine would refuse, with an HTTP status, not a hang-up.
    private func filterWebSocket(wsi: OpaquePointer) -> Int32 {
        guard let request = LWSRequestReader.request(on: wsi, trusting: configuration.trustedProxies) else { return -1 }
        if let refusal = refusalWhileSending(wsi: wsi, request: request) { return refusal }
        if let tooLarge = HeaderLimits.refusal(wsi, peer: request.peer, log: log) { return refuseUpgrade(wsi: wsi, tooLarge) }
        guard let endpoint = endpoint(for: request.path) else {
            log.limited(.warn, cause: "refused-404-websocket", source: request.peer, "refused peer=\(request.peer) status=404 WebSocket to \(LogSafe.text(request.path)): no Engine.IO endpoint there")
            return refuseUpgrade(wsi: wsi, HTTPResponse(status: 404, body: Array("Not Found\n".utf8)))
        }
        if stopping { return refuseUpgrade(wsi: wsi, HTTPResponse(status: 503, body: Array("Server shutting down\n".utf8))) }
        if let full = refusalWhenFull(request) { return refuseUpgrade(wsi: wsi, full) }
        if let error = endpoint.engine.refusalForWebSocket(request) {
            let cors = endpoint.engine.configuration.cors.responseHeaders(origin: request.origin)
            return refuseUpgrade(wsi: wsi, error.response(headers: cors))
        }
        return 0
    }

    /// Answers a refused handshake with a real HTTP response (the same JSON error a polling request
    /// would get), then has lws drop the connection.
    private func refuseUpgrade(wsi: OpaquePointer, _ response: HTTPResponse) -> Int32 {
        _ = writeHTTPResponse(response, to: wsi)
        return -1
    }

    private func openWebSocket(wsi: OpaquePointer) -> Int32 {
        guard let request = LWSRequestReader.request(on: wsi, trusting: configuration.trustedProxies), let endpoint = endpoint(for: request.path) else { return -1 }
        let engineConfiguration = endpoint.engine.configuration
        let socket = LWSWebSocket(
            wsi: wsi, server: self, maxPayload: engineConfiguration.maxPayload, maxBuffered: engineConfiguration.maxBuffered,
            memory: endpoint.engine.outboundMemory)
        socket.attach()
        guard let transport = endpoint.engine.openWebSocket(request, connection: socket) else {
            socket.close(code: 1008)
            return 0
        }
        socket.transport = transport
        socket.mayWriteDirectly = true
        return 0
    }

    /// A new client (no sid) when the server is full: 503, and a line saying why, rather than running out
    /// of file descriptors (or memory, with abandoned polling sessions) and failing everyone.
    private func refusalWhenFull(_ request: HTTPRequest) -> HTTPResponse? {
        guard !request.query.contains("sid") else { return nil }
        let sessions = endpoints.reduce(0) { $0 + $1.engine.sessionCount }
        // This request's own connection is counted; the limit is on the ones before it.
        let others = openConnections - 1
        let cause: String
        if others >= configuration.maxConnections {
            cause = "\(others) connections (limit \(configuration.maxConnections), set by the open-files limit)"
        } else if sessions >= configuration.maxSessions {
            cause = "\(sessions) sessions (limit \(configuration.maxSessions), four per connection slot)"
        } else {
            return nil
        }
        log.limited(.warn, cause: "refused-503", source: request.peer, "refused peer=\(request.peer) status=503 server full: \(cause)")
        return HTTPResponse(
            status: 503, contentType: "application/json", headers: [HTTPHeader("Retry-After", "5")],
            body: Array("{\"code\":503,\"message\":\"Server full\"}".utf8))
    }

    // MARK: HTTP

    /// Every HTTP request, before lws matches it to a mount: with `--static`, a path outside the engine
    /// paths that names a dotfile, resolves outside the directory or does not exist gets a 404 and a
    /// log line (warn for the first two) instead of reaching lws's file mount; a file whose extension
    /// lws knows no MIME type for gets lws's own answer, 415, and a log line too.
    private func filterStaticFile(wsi: OpaquePointer, uri: UnsafeRawBufferPointer) -> Int32 {
        guard let mounts else { return 0 }
        let path = String(decoding: uri.prefix { $0 != 0 }, as: UTF8.self)
        guard endpoint(for: path) == nil, !isServicePath(path) else { return 0 }
        let response: HTTPResponse
        // No guard means the directory could not be resolved at start: serve nothing rather than everything.
        switch mounts.fileGuard?.resolve(path) ?? .failure(.notFound) {
        case .success(let file):
            guard lws_get_mimetype(file, nil) == nil else { return 0 }
            response = HTTPResponse(status: 415, body: Array("Unsupported Media Type\n".utf8))
            log.info("refused peer=\(LWSRequestReader.client(wsi, trusting: configuration.trustedProxies)) status=415 static \(LogSafe.text(path)): no known MIME type for its extension")
        case .failure(let refusal):
            response = HTTPResponse(status: 404, body: Array("Not Found\n".utf8))
            log.log(refusal.isProbe ? .warn : .info, "refused peer=\(LWSRequestReader.client(wsi, trusting: configuration.trustedProxies)) status=404 static \(LogSafe.text(path)): \(refusal)")
        }
        _ = writeHTTPResponse(response, to: wsi)
        return -1
    }

    private func beginHTTP(wsi: OpaquePointer) -> Int32 {
        // A keep-alive connection's peer does not change: the exchange of its last request has it (and
        // reading it costs a system call per request).
        let socketPeer = (LWSPeer.stored(on: wsi) as? LWSHTTPExchange)?.socketPeer ?? LWSRequestReader.peer(wsi)
        guard let request = LWSRequestReader.request(on: wsi, trusting: configuration.trustedProxies, socketPeer: socketPeer) else { return -1 }
        if let tooLarge = HeaderLimits.refusal(wsi, peer: request.peer, log: log) {
            _ = writeHTTPResponse(tooLarge, to: wsi)
            return -1
        }
        if let refusal = refusalWhileSending(wsi: wsi, request: request) { return refusal }
        // Returning non-zero here is what keeps lws from reading a buffered request's body (its loop runs after this callback).
        if !connectionsWithBufferedRequest.isEmpty, connectionsWithBufferedRequest.remove(wsi) != nil,
            let refusal = refusalOfBufferedBody(wsi: wsi, request: request)
        {
            _ = writeHTTPResponse(refusal, to: wsi)
            return -1
        }
        if request.method == .post, let refusal = refusalForBody(wsi: wsi, request: request) {
            _ = writeHTTPResponse(refusal, to: wsi)
            return -1
        }
        let exchange = LWSHTTPExchange(wsi: wsi, server: self, request: request, socketPeer: socketPeer)
        if request.method == .post {
            exchange.awaitBody(
                bytes: LWSRequestReader.contentLength(wsi) ?? 0,
                deadline: MonotonicClock.milliseconds() + configuration.bodyTimeoutMilliseconds)
        }
        if request.method != .post && requestCarriesBody(wsi: wsi, request: request) {
            // A body where none is expected (a GET with a Content-Length, a PUT): answered from the
            // headers alone, its bytes dropped as lws reads them, and the connection closed after the
            // response instead of reading what is left of that body as a next request.
            log.debug("\(request.method.name) \(LogSafe.text(request.path)) peer=\(request.peer) carries a body: answered without it, then closed")
            exchange.closesAfterResponse = true
        }
        exchange.attach()
        if request.method != .post { dispatchHTTP(exchange) }
        return 0
    }

    /// A body still arriving at its deadline: 408, a log line, and the connection closed.
    private func refuseSlowBody(_ exchange: LWSHTTPExchange) -> Int32 {
        let request = exchange.request
        log.warn(
            "refused peer=\(request.peer) status=408 request body not complete within \(configuration.bodyTimeoutMilliseconds) ms "
                + "(\(request.body.count) of \(exchange.expectedBodyBytes) bytes)")
        exchange.abandonBody()
        let response = HTTPResponse(
            status: 408, headers: [HTTPHeader("Connection", "close")], body: Array("Request body too slow\n".utf8))
        _ = writeHTTPResponse(response, to: exchange.wsi)
        return -1
    }

    /// lws 4.1 cannot finish a POST without Content-Length (it waits for 100 MB) nor decode a chunked
    /// one, and an oversize body need not be read at all: all three are answered before the body.
    private func refusalForBody(wsi: OpaquePointer, request: HTTPRequest) -> HTTPResponse? {
        let engine = endpoint(for: request.path)?.engine
        let limit = engine?.configuration.maxPayload ?? 64 * 1024
        let error: EngineRequestError
        if LWSRequestReader.header(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) != nil {
            error = .lengthRequired("chunked request bodies are not supported; send Content-Length")
        } else if let length = LWSRequestReader.contentLength(wsi) {
            guard length > limit else { return nil }
            error = .payloadTooLarge("body of \(length) bytes is over maxPayload \(limit)")
        } else {
            error = .lengthRequired("a POST needs Content-Length")
        }
        guard let engine else {
            log.limited(.warn, cause: "refused-body-\(error.status)", source: request.peer, "refused peer=\(request.peer) status=\(error.status) \(LogSafe.text(request.path)): \(error.detail)")
            return error.response()
        }
        return engine.refuseBody(of: request, error)
    }

    /// The request is complete (POST bodies included): hand it to its engine or to the page handler.
    private func dispatchHTTP(_ exchange: LWSHTTPExchange) {
        exchange.markDispatched()
        exchange.isInItsRead = true
        defer { exchange.isInItsRead = false }
        let request = exchange.request
        if let response = serviceResponse(request) {
            exchange.respond(response)
            return
        }
        if let endpoint = endpoint(for: request.path) {
            if stopping, !request.query.contains("sid") {
                // As for a WebSocket (filterWebSocket): no session may begin once every session was closed.
                exchange.respond(HTTPResponse(status: 503, body: Array("Server shutting down\n".utf8)))
                return
            }
            if let full = refusalWhenFull(request) {
                exchange.respond(full)
                return
            }
            endpoint.engine.handle(request, responder: exchange, onAbandon: { exchange.onAbandon = $0 })
            exchange.holdIfUnanswered()
            return
        }
        if let pageHandler {
            exchange.respond(pageHandler(request))
        } else {
            exchange.respond(HTTPResponse(status: 404, body: Array("Not Found\n".utf8)))
        }
    }
}
