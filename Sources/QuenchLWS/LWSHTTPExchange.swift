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

    /// A chunk of the POST body. lws delivers no more than the Content-Length, which was checked
    /// against maxPayload before the body was read.
    func appendBody(_ bytes: UnsafeRawBufferPointer) {
        request.body.append(contentsOf: bytes)
    }

    func respond(_ response: HTTPResponse) {
        guard !responded, !isGone else { return }
        responded = true
        onAbandon = nil
        self.response = response
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
        return server.writeHTTPResponse(response, to: wsi)
    }

    /// `LWS_CALLBACK_CLOSED_HTTP` (or `WSI_DESTROY`, or the connection moving on): the client left.
    override func ended() {
        guard !isGone else { return }
        isGone = true
        let abandon = responded ? nil : onAbandon
        onAbandon = nil
        abandon?()
    }
}
