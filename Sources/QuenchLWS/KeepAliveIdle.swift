import CLibWebSockets

/// Idle keep-alive connections, timed by quench rather than by lws.
///
/// lws 4.1 keeps every connection's pending timeout in one list sorted by deadline, and inserts by walking
/// it from the front (`__lws_sul_insert`). Each transaction it completes adds a keep-alive timeout, due
/// later than every other idle connection's, so each one walks the whole list: with 1,000 long-polling
/// clients (each POST connection idle between its POSTs) that walk was most of a polling reply's cost, and
/// a reminder answering 5,000 held GETs paid it 5,000 times over a list growing by one each time. So once
/// quench has completed a transaction and no next request is buffered, it takes the connection off lws's
/// list and watches it here: one dictionary entry per idle connection, swept when the oldest is due (at most
/// once a second, and never on a server with none). A connection idle for ``keepAliveIdleMilliseconds`` is
/// closed, as lws would have closed it. One
/// that has begun a new request meanwhile leaves the watch: lws holds a header table for it, with lws's
/// own header timeout, and the request's exchange or WebSocket then replaces the one that was idle. A plain
/// HTTP request leaves at once, when its headers are complete; the sweep drops the rest it finds moved on.
extension LWSServer {
    /// lws's own default keep-alive idle time (`keepalive_timeout`), which quench's contexts keep.
    static let keepAliveIdleMilliseconds: Int64 = 5_000
    /// The shortest wait between two sweeps, so connections going idle one after another share them.
    private static let sweepSpacingMilliseconds: Int64 = 1_000

    /// The transaction `exchange` carried on `wsi` is complete and the connection waits for its next
    /// request: off lws's timeout list, into the watch.
    func awaitNextRequest(on wsi: OpaquePointer, after exchange: LWSHTTPExchange) {
        // No sweep once the context is going (it is dropped first): lws's own timeout stays then.
        guard let keepAliveSweep else { return }
        lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0)
        let now = MonotonicClock.milliseconds()
        exchange.idleSince = now
        idleConnections[wsi] = now
        guard !keepAliveSweepArmed else { return }
        keepAliveSweepArmed = true
        keepAliveSweep.schedule(inMicroseconds: Self.keepAliveIdleMilliseconds * 1000)
    }

    /// `wsi` has begun its next request, or is being destroyed (a later connection may get the same pointer):
    /// it leaves the watch.
    /// The last one to leave disarms the sweep: every wake of the service loop polls every descriptor, which
    /// with 5,000 polling clients is milliseconds, and a sweep of nothing is a wake for nothing.
    func forgetIdleConnection(_ wsi: OpaquePointer) {
        guard !idleConnections.isEmpty, idleConnections.removeValue(forKey: wsi) != nil, idleConnections.isEmpty, keepAliveSweepArmed else { return }
        keepAliveSweep?.cancel()
        keepAliveSweepArmed = false
    }

    /// Closes each connection idle for the keep-alive time and drops each that has moved on; runs again
    /// when the oldest still watched is due (a second from now at the soonest).
    func sweepIdleConnections() {
        let now = MonotonicClock.milliseconds()
        var expired: [OpaquePointer] = []
        var movedOn: [OpaquePointer] = []
        var oldest = Int64.max
        for (wsi, since) in idleConnections {
            guard let exchange = LWSPeer.stored(on: wsi) as? LWSHTTPExchange, exchange.idleSince == since, !exchange.isGone,
                clws_holds_header_table(wsi) == 0
            else {
                movedOn.append(wsi)
                continue
            }
            if now - since >= Self.keepAliveIdleMilliseconds { expired.append(wsi) } else { oldest = min(oldest, since) }
        }
        for wsi in movedOn { idleConnections.removeValue(forKey: wsi) }
        for wsi in expired {
            idleConnections.removeValue(forKey: wsi)
            lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE, LWS_TO_KILL_ASYNC)
        }
        keepAliveSweepArmed = !idleConnections.isEmpty
        guard keepAliveSweepArmed else { return }
        let due = max(oldest + Self.keepAliveIdleMilliseconds - now, Self.sweepSpacingMilliseconds)
        keepAliveSweep?.schedule(inMicroseconds: due * 1000)
    }
}
