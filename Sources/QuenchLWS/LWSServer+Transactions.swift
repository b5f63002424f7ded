import CLibWebSockets
import EngineIO

/// How an HTTP/1.1 connection goes from one request to the next, and what it may ask to become.
///
/// lws 4.1 cannot read the body of a request it parses out of its own buffer: `lws_http_action` then
/// feeds the same buffered bytes in again as that request's body, starting at its request line, and once
/// the body is "complete" re-enters the completion, consuming nothing, without end (server.c, the loop
/// after "At this point we have transitioned from deferred action to expecting BODY"); the bytes it
/// walks belong to a segment its caller is still parsing. A request is parsed from that buffer only when
/// the client sent it before the previous response was out (pipelining), which browsers and Socket.IO
/// clients never do. So after each response the server asks whether lws holds such bytes; the request
/// they form is served if it has no body, and refused (400, connection closed: HTTP/1.1 lets a server
/// close after any response, and a pipelining client retries) if it has one. A request that arrives on
/// its own read, as every real client's does, is unaffected.
extension LWSServer {
    /// The response on `wsi` is all out: completes the transaction, notes whether the client's next request
    /// is already buffered, and lets the connection read again. Returns -1 to close. A connection left
    /// idle after `exchange` is timed by quench, not by lws (KeepAliveIdle.swift); one with a buffered
    /// request, or completed for lws (a file it served), keeps lws's timeout.
    func completeTransaction(on wsi: OpaquePointer, of exchange: LWSHTTPExchange? = nil) -> Int32 {
        guard lws_http_transaction_completed(wsi) == 0 else { return -1 }
        if clws_holds_header_table(wsi) != 0 {
            connectionsWithBufferedRequest.insert(wsi)
        } else if let exchange {
            awaitNextRequest(on: wsi, after: exchange)
        }
        lws_rx_flow_control(wsi, 1)
        return 0
    }

    /// Whether lws will read a body after the request's headers: for POST, PUT and PATCH always (up to
    /// 100 MB when no Content-Length says otherwise), for any method with a non-zero Content-Length or a
    /// Transfer-Encoding.
    func requestCarriesBody(wsi: OpaquePointer, request: HTTPRequest) -> Bool {
        switch request.method {
        case .post: return true
        case .other(let name) where name == "PUT" || name == "PATCH": return true
        default: break
        }
        if LWSRequestReader.header(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) != nil { return true }
        return LWSRequestReader.header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH).map { !$0.allSatisfy { $0 == "0" } } ?? false
    }

    /// A 400 for a request parsed from lws's buffer (the client pipelined it) that carries a body, which
    /// lws 4.1 would read wrongly (see above). Nil when the request may go on.
    func refusalOfBufferedBody(wsi: OpaquePointer, request: HTTPRequest) -> HTTPResponse? {
        guard requestCarriesBody(wsi: wsi, request: request) else { return nil }
        let detail = "pipelined \(request.method.name) with a body: send it after the previous response has arrived"
        log.limited(
            .warn, cause: "refused-pipelined-body", source: request.peer,
            "refused peer=\(request.peer) status=400 \(request.method.name) \(LogSafe.text(request.path)): \(detail); closing")
        return HTTPResponse(
            status: 400, headers: [HTTPHeader("Connection", "close")], body: Array("Bad Request: \(detail)\n".utf8))
    }

    /// lws handed over body bytes or a completion for a request that already went to its handler. The
    /// paused reads of ``LWSHTTPExchange`` keep this from happening; should it happen anyway, the
    /// connection is closed at once rather than served again (lws would repeat it every turn).
    func refuseRepeatedBody(_ exchange: LWSHTTPExchange, _ what: String) -> Int32 {
        log.error("closed peer=\(exchange.request.peer) lws delivered \(what) for a request already handled (\(exchange.request.method.name) \(LogSafe.text(exchange.request.path)))")
        return -1
    }

    /// `LWS_CALLBACK_HTTP_CONFIRM_UPGRADE`, with the Upgrade token: WebSocket goes ahead; `h2c` is
    /// served as plain HTTP/1.1 (RFC 9113 §3.1 lets a server ignore it, as Node's and uvicorn's servers
    /// do), because lws 4.1 would switch the connection to HTTP/2 and keep it outside every deadline
    /// quench sets; any other token lws has answered 403 already, and the connection closes.
    func confirmUpgrade(wsi: OpaquePointer, token: UnsafeMutableRawPointer?) -> Int32 {
        guard let token = token?.assumingMemoryBound(to: CChar.self) else { return -1 }
        let name = String(cString: token)
        if name.lowercased() == "websocket" { return 0 }
        if name.lowercased() == "h2c" {
            // lws compares the token in its header table again after this callback: emptied, it is no
            // upgrade lws knows, and the request goes on as HTTP/1.1 (server.c, lws_handshake_server).
            token[0] = 0
            log.debug("upgrade to h2c ignored peer=\(LWSRequestReader.client(wsi, trusting: configuration.trustedProxies)): answered as HTTP/1.1")
            return 0
        }
        let peer = LWSRequestReader.client(wsi, trusting: configuration.trustedProxies)
        log.limited(
            .warn, cause: "refused-upgrade-other", source: peer,
            "refused peer=\(peer) status=403 Upgrade: \(LogSafe.text(name)): only websocket is supported; closing")
        return -1
    }
}

extension LWSServer {
    /// An exchange has its response: it is written once the current lws service turn returns.
    func queueHTTPResponse(_ exchange: LWSHTTPExchange) {
        queuedHTTPResponses.append(exchange)
    }

    /// Writes every response queued during the last service turn, in the order they were given. A
    /// connection that must close is handed to lws to close (after what it holds of the response is out).
    func flushHTTPResponses() {
        let exchanges = queuedHTTPResponses
        queuedHTTPResponses.removeAll(keepingCapacity: true)
        for exchange in exchanges where !exchange.writeQueuedResponse() { closeAfterSending(exchange.wsi) }
    }

    /// Has lws close `wsi` at its next service turn, after sending whatever it holds of a response.
    func closeAfterSending(_ wsi: OpaquePointer) {
        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC)
    }
}

extension LWSServer {
    /// -1 (close) for a request that arrived while lws still held part of the previous response on the
    /// connection: the client sent it before reading that response (pipelining), and lws would parse it
    /// in the middle of the old transaction. lws sends what it holds before it closes. Nil otherwise.
    func refusalWhileSending(wsi: OpaquePointer, request: HTTPRequest) -> Int32? {
        guard let previous = LWSPeer.stored(on: wsi) as? LWSHTTPExchange, previous.isStillSending else { return nil }
        log.limited(
            .warn, cause: "closed-pipelined", source: request.peer,
            "closed peer=\(request.peer) \(request.method.name) \(LogSafe.text(request.path)) arrived before the previous "
                + "response was read (pipelined); closing once that response is out")
        return -1
    }
}
