import CLibWebSockets

/// Idle keep-alive connections, timed by quench rather than by lws.
///
/// lws 4.1 keeps every connection's pending timeout in one list sorted by deadline, and inserts by walking
/// it from the front (`__lws_sul_insert`). Each transaction it completes adds a keep-alive timeout, due
/// later than every other idle connection's, so each one walks the whole list: with 1,000 long-polling
/// clients (each POST connection idle between its POSTs) that walk was most of a polling reply's cost, and
/// a reminder answering 5,000 held GETs paid it 5,000 times over a list growing by one each time. So once
/// quench has completed a transaction and no next request is buffered, it takes the connection off lws's
/// list and watches it here. Connections go idle in time order, so the watch is a list linked through
/// their exchanges, oldest first: joining and leaving cost a few pointer writes (a table keyed by
/// connection cost two hashes a polling reply), and the sweep looks only at the front, when the oldest is
/// due (at most once a second, and never on a server with none). A connection idle for
/// ``keepAliveIdleMilliseconds`` is closed, as lws would have closed it. One that has begun a new request
/// meanwhile leaves the watch: lws holds a header table for it, with lws's own header timeout, and the
/// request's exchange or WebSocket then replaces the one that was idle (whose ``LWSHTTPExchange/ended()``
/// takes it out). A plain HTTP request leaves at once, when its headers are complete.
extension LWSServer {
    /// lws's own default keep-alive idle time (`keepalive_timeout`), which quench's contexts keep.
    static let keepAliveIdleMilliseconds: Int64 = 5_000
    /// The shortest wait between two sweeps, so connections going idle one after another share them.
    private static let sweepSpacingMilliseconds: Int64 = 1_000

    /// The transaction `exchange` carried on `wsi` is complete and the connection waits for its next
    /// request: off lws's timeout list, onto the end of the watch.
    func awaitNextRequest(on wsi: OpaquePointer, after exchange: LWSHTTPExchange) {
        // No sweep once the context is going (it is dropped first): lws's own timeout stays then.
        guard let keepAliveSweep, !exchange.isIdle, !exchange.isGone else { return }
        lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0)
        exchange.idleSince = MonotonicClock.milliseconds()
        exchange.isIdle = true
        exchange.idleOlder = idleNewest
        exchange.idleNewer = nil
        if let newest = idleNewest { newest.idleNewer = exchange } else { idleOldest = exchange }
        idleNewest = exchange
        guard !keepAliveSweepArmed else { return }
        keepAliveSweepArmed = true
        keepAliveSweep.schedule(inMicroseconds: Self.keepAliveIdleMilliseconds * 1000)
    }

    /// `wsi` has begun its next request: its exchange leaves the watch now, not when the request's own
    /// exchange replaces it (a connection being destroyed leaves in ``LWSHTTPExchange/ended()``).
    func forgetIdleConnection(_ wsi: OpaquePointer) {
        guard idleOldest != nil, let exchange = LWSPeer.stored(on: wsi) as? LWSHTTPExchange, exchange.isIdle else { return }
        leaveIdle(exchange)
    }

    /// Takes `exchange` out of the watch. The last one to leave disarms the sweep: every wake of the service
    /// loop polls every descriptor, which with 5,000 polling clients is milliseconds, and a sweep of nothing
    /// is a wake for nothing.
    func leaveIdle(_ exchange: LWSHTTPExchange) {
        guard exchange.isIdle else { return }
        exchange.isIdle = false
        if let older = exchange.idleOlder { older.idleNewer = exchange.idleNewer } else { idleOldest = exchange.idleNewer }
        if let newer = exchange.idleNewer { newer.idleOlder = exchange.idleOlder } else { idleNewest = exchange.idleOlder }
        exchange.idleOlder = nil
        exchange.idleNewer = nil
        guard idleOldest == nil, keepAliveSweepArmed else { return }
        keepAliveSweep?.cancel()
        keepAliveSweepArmed = false
    }

    /// Empties the watch without looking at any connection (the server is being torn down).
    func forgetEveryIdleConnection() {
        while let oldest = idleOldest { leaveIdle(oldest) }
    }

    /// Closes each connection idle for the keep-alive time (one that has begun a new request meanwhile
    /// only leaves the watch); runs again when the oldest still watched is due (a second from now at the
    /// soonest).
    func sweepIdleConnections() {
        let now = MonotonicClock.milliseconds()
        while let oldest = idleOldest, now - oldest.idleSince >= Self.keepAliveIdleMilliseconds {
            leaveIdle(oldest)
            if clws_holds_header_table(oldest.wsi) == 0 {
                lws_set_timeout(oldest.wsi, PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE, LWS_TO_KILL_ASYNC)
            }
        }
        keepAliveSweepArmed = idleOldest != nil
        guard let oldest = idleOldest else { return }
        let due = max(oldest.idleSince + Self.keepAliveIdleMilliseconds - now, Self.sweepSpacingMilliseconds)
        keepAliveSweep?.schedule(inMicroseconds: due * 1000)
    }
}
