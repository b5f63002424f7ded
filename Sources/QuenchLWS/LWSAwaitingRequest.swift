import CLibWebSockets

/// A new connection whose first request has not arrived yet: it marks the wsi from accept until
/// the request's headers are complete (the HTTP exchange or the WebSocket then takes its place), so
/// that a connection lws closes in between — its header timeout, ``LWSServerConfiguration/headerTimeoutSeconds``
/// over the whole request head — is logged. Service thread; one per connection, replaced within
/// moments for every real client.
final class LWSAwaitingRequest: LWSPeer {
    private let acceptedAt = MonotonicClock.milliseconds()
    private var hasEnded = false

    /// `CLOSED_HTTP` or `WSI_DESTROY` before any request: at the header timeout, a (throttled) log line.
    override func ended() {
        guard !hasEnded else { return }
        hasEnded = true
        let now = MonotonicClock.milliseconds()
        // lws checks timeouts once a second; anything this old was closed by the timeout, not by the client.
        guard now - acceptedAt >= Int64(server.configuration.headerTimeoutSeconds) * 1000 - 500 else { return }
        let peer = LWSRequestReader.peer(wsi)
        if let quiet = server.headerTimeoutLog.admit(now: now) {
            let more = quiet > 0 ? " (and \(quiet) more since the last such line)" : ""
            server.log.info(
                "closed peer=\(peer) request headers not complete within \(server.configuration.headerTimeoutSeconds) s\(more)")
        }
    }
}
