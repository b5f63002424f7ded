import CLibWebSockets
import EngineIO

/// One HTTP request on an lws connection and, once the handler has it, its response.
///
/// A response may come much later (a held long-poll): it waits here until lws says the socket is
/// writable. If the client goes away first, ``abandoned`` tells whoever holds the exchange.
///
/// One request at a time per connection: from the moment the request is complete (its headers, or its
/// body for a POST) until its response has left and the transaction is completed, lws reads nothing more
/// on the connection (``markDispatched()``). Without the pause, lws 4.1 hands a finished request to us
/// again: the bytes of a pipelined request wait in the connection's buffer, and lws's "ripe" pass
/// re-enters a POST whose body is complete (state BODY, nothing remaining) with a second
/// `HTTP_BODY_COMPLETION` that consumes nothing, on every turn of the service loop, forever. With it,
/// that pass skips the connection (it skips every flow-controlled one).
///
/// lws never calls a flow-controlled HTTP connection writable (its POLLOUT would wake the loop for
/// nothing, forever), so the response is not written from `HTTP_WRITEABLE`: ``respond(_:)`` writes it at
/// once, or, when it comes while the read that brought the request is still under way (an answer given
/// during dispatch), after that lws service turn (``LWSServer/flushHTTPResponses()``): only then is
/// whatever lws read along with this request in its buffer, where the completion can ask about it.
final class LWSHTTPExchange: LWSPeer, HTTPResponder {
    /// The request line and headers; the body is appended as it arrives.
    var request: HTTPRequest
    private var response: HTTPResponse?
    private var responded = false
    private(set) var isGone = false
    /// Whether the request went to its handler (``LWSServer/dispatchHTTP(_:)``); it goes once.
    private(set) var isDispatched = false
    /// The response was handed to lws, which may still hold part of it; the transaction completes once
    /// it is all out.
    private var isFlushing = false
    /// Called once if the connection closes before the response was written.
    var onAbandon: (() -> Void)?
    /// When the transaction completed and the connection began waiting for its next request (ms); -1 before.
    var idleSince: Int64 = -1
    /// Its place among the server's idle connections, oldest first (KeepAliveIdle.swift); `isIdle` while
    /// there. The links count no references: an exchange leaves the list in ``ended()``, before its
    /// connection lets go of it (and a server being torn down empties the list first).
    var isIdle = false
    unowned(unsafe) var idleNewer: LWSHTTPExchange?
    unowned(unsafe) var idleOlder: LWSHTTPExchange?

    /// The connection's own peer (the proxy's, when a trusted proxy names the client), for the next request on it.
    let socketPeer: String

    init(wsi: OpaquePointer, server: LWSServer, request: HTTPRequest, socketPeer: String) {
        self.request = request
        self.socketPeer = socketPeer
        super.init(wsi: wsi, server: server)
    }

    /// The Content-Length of a POST whose body is still arriving; 0 otherwise.
    private(set) var expectedBodyBytes = 0
    /// When the body must be complete (monotonic milliseconds); 0 when none is awaited. lws itself
    /// restarts a 5 s timeout at every chunk, so a body trickled a byte at a time would never end.
    private var bodyDeadline: Int64 = 0

    /// A POST: its body of `bytes` is due by `deadline`.
    func awaitBody(bytes: Int, deadline: Int64) {
        expectedBodyBytes = bytes
        bodyDeadline = deadline
    }

    /// A chunk of the POST body. lws delivers no more than the Content-Length, which was checked
    /// against maxPayload before the body was read. Returns false once the body's deadline has passed.
    func appendBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        request.body.append(contentsOf: bytes)
        return bodyDeadline == 0 || MonotonicClock.milliseconds() <= bodyDeadline
    }

    /// The whole body arrived.
    func bodyCompleted() { bodyDeadline = 0 }

    /// The body was refused (too slow); the connection is closing, nothing more to say about it.
    func abandonBody() {
        bodyDeadline = 0
        responded = true
    }

    /// The request is complete and goes to its handler now: nothing more is read on the connection until
    /// its response is out (see the type's comment).
    func markDispatched() {
        isDispatched = true
        lws_rx_flow_control(wsi, 0)
    }

    /// True while the request is being dispatched from the lws read that completed it.
    var isInItsRead = false
    /// The connection closes once the response is out, with no next request read on it (a body came
    /// where none belongs, and what lws has not dropped of it would follow).
    var closesAfterResponse = false

    func respond(_ response: HTTPResponse) {
        guard !responded, !isGone else { return }
        responded = true
        onAbandon = nil
        self.response = response
        if isInItsRead {
            server.queueHTTPResponse(self)
        } else if !writeQueuedResponse() {
            server.closeAfterSending(wsi)
        }
    }

    /// Writes the response (at once, or after the lws service turn in which it was given). All sent: the
    /// transaction completes now. Part of it held by lws (the kernel took less): reading resumes, since
    /// lws drains it only on POLLOUT, which it serves only to a connection that reads, and the
    /// transaction completes in ``writable()`` once the rest is out. Returns false when the connection
    /// must close (the write failed, or it is not kept alive).
    func writeQueuedResponse() -> Bool {
        guard let response, !isGone else { return true }
        self.response = nil
        guard server.writeHTTPResponse(response, to: wsi) == 0 else { return false }
        if closesAfterResponse { return false }
        guard lws_partial_buffered(wsi) == 0 else {
            isFlushing = true
            lws_rx_flow_control(wsi, 1)
            return true
        }
        return server.completeTransaction(on: wsi, of: self) == 0
    }

    /// Called when the request was not answered at once (a long-poll). lws would time it out after
    /// 5 s: so no lws timeout; the engine's heartbeat bounds the wait. (Reading is paused already, so an
    /// abandoned poll's unread end-of-file does not wake the service loop either.)
    ///
    /// Its parsed headers go back too: everything the response needs was read out of them at the start
    /// (``LWSRequestReader``), and lws 4.1 keeps every attached header area on one list that it walks to
    /// free each one. Held for a whole poll, they made that walk as long as the number of waiting clients
    /// (a cache miss per client, on every request of every client) and kept a header area per client.
    func holdIfUnanswered() {
        guard !responded, !isGone else { return }
        lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0)
        lws_http_headers_detach(wsi)
    }

    /// Whether lws still holds part of the response (``writeQueuedResponse()``): a request that arrives
    /// meanwhile was sent before the response was read, and is refused (the connection closes once the
    /// response is out).
    var isStillSending: Bool { isFlushing }

    /// `LWS_CALLBACK_HTTP_WRITEABLE`: lws calls it after each part of a held-back response it sent; once
    /// all is out, the transaction completes, which readies a keep-alive connection for its next request.
    /// Returns -1 to close.
    ///
    /// No loop: lws asks for the next call only after sending more of the response, and the completion
    /// happens once; any other call (lws asks for one when a flow-control change meets buffered input)
    /// does nothing.
    func writable() -> Int32 {
        guard isFlushing, lws_partial_buffered(wsi) == 0 else { return 0 }
        isFlushing = false
        return server.completeTransaction(on: wsi, of: self)
    }

    /// `CLOSED_HTTP` (or `WSI_DESTROY`, or the connection moving on): the client left.
    override func ended() {
        guard !isGone else { return }
        isGone = true
        if isIdle { server.leaveIdle(self) }
        if bodyDeadline != 0 {
            // lws closed it mid-body: its 5 s without a byte, or the client went away.
            server.log.info(
                "closed peer=\(request.peer) request body incomplete when the connection ended "
                    + "(\(request.body.count) of \(expectedBodyBytes) bytes)")
        }
        response = nil
        let abandon = responded ? nil : onAbandon
        onAbandon = nil
        abandon?()
    }
}
