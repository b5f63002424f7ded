import CLibWebSockets
import EngineIO

/// One HTTP request on an lws connection and, once the handler has it, its response.
///
/// A response may come much later (a held long-poll): it waits here until lws says the socket is
/// writable. If the client goes away first, ``abandoned`` tells whoever holds the exchange.
final class LWSHTTPExchange: LWSPeer, HTTPResponder {
    /// The request line and headers; the body is appended as it arrives.
    var request: HTTPRequest
    private var response: HTTPResponse?
    private var responded = false
    private(set) var isGone = false
    private var isHeld = false
    /// Called once if the connection closes before the response was written.
    var onAbandon: (() -> Void)?

    init(wsi: OpaquePointer, server: LWSServer, request: HTTPRequest) {
        self.request = request
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

    func respond(_ response: HTTPResponse) {
        guard !responded, !isGone else { return }
        responded = true
        onAbandon = nil
        self.response = response
        server.unwrittenResponses += 1
        if isHeld {
            // lws services a flow-controlled wsi for nothing, writable callbacks included.
            isHeld = false
            lws_rx_flow_control(wsi, 1)
        }
        lws_callback_on_writable(wsi)
    }

    /// Called when the request was not answered at once (a long-poll). lws would time it out after
    /// 5 s and, if the client left meanwhile, spin on the unread end-of-file: so no lws timeout (the
    /// engine's heartbeat bounds the wait) and no reading until the answer is ready.
    func holdIfUnanswered() {
        guard !responded, !isGone, !isHeld else { return }
        isHeld = true
        lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0)
        lws_rx_flow_control(wsi, 0)
    }

    /// `LWS_CALLBACK_HTTP_WRITEABLE`: writes the whole response, then readies the connection for the
    /// next request (keep-alive). Returns -1 to close.
    func writable() -> Int32 {
        guard let response else { return 0 }
        self.response = nil
        server.unwrittenResponses -= 1
        return server.writeHTTPResponse(response, to: wsi)
    }

    /// `LWS_CALLBACK_CLOSED_HTTP` (or `WSI_DESTROY`, or the connection moving on): the client left.
    override func ended() {
        guard !isGone else { return }
        isGone = true
        if bodyDeadline != 0 {
            // lws closed it mid-body: its 5 s without a byte, or the client went away.
            server.log.info(
                "closed peer=\(request.peer) request body incomplete when the connection ended "
                    + "(\(request.body.count) of \(expectedBodyBytes) bytes)")
        }
        if response != nil {
            response = nil
            server.unwrittenResponses -= 1
        }
        let abandon = responded ? nil : onAbandon
        onAbandon = nil
        abandon?()
    }
}
