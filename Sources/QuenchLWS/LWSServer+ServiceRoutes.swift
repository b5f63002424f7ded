import CLibWebSockets
import EngineIO

/// The paths the server answers itself, ahead of every engine, the page handler and `--static`:
/// `/healthz` always, `/metrics` when a ``LWSServer/metricsPage`` is set. With `--static` they are
/// mounted as callbacks, so a file of the same name in the directory never shadows them.
extension LWSServer {
    /// The load balancer's health check: 200 while serving, 503 once a stop has begun.
    public static let healthPath = "/healthz"
    /// The Prometheus scrape (text exposition format 0.0.4), only with a ``metricsPage``.
    public static let metricsPath = "/metrics"

    /// The built-in paths in use, for the mount list and the `--static` filter.
    var servicePaths: [String] { metricsPage == nil ? [Self.healthPath] : [Self.healthPath, Self.metricsPath] }

    /// Whether `path` is one of ``servicePaths`` (exactly: `/healthz/x` is not).
    func isServicePath(_ path: String) -> Bool {
        // Lengths first: every request asks, and comparing two different short strings is a library call.
        let length = path.utf8.count
        guard length == Self.healthPath.utf8.count || length == Self.metricsPath.utf8.count else { return false }
        return path == Self.healthPath || (path == Self.metricsPath && metricsPage != nil)
    }

    /// Connections lws holds now (HTTP and WebSocket), for `/metrics`.
    public var connectionCount: Int { openConnections }

    /// The answer to a request on a built-in path, or nil when `request` is not for one. GET and HEAD
    /// (status and headers, no body) are answered; other methods get 405. Service thread.
    func serviceResponse(_ request: HTTPRequest) -> HTTPResponse? {
        guard isServicePath(request.path) else { return nil }
        let isHead = request.method == .other("HEAD")
        guard request.method == .get || isHead else {
            return HTTPResponse(status: 405, headers: [HTTPHeader("Allow", "GET, HEAD")], body: Array("Method Not Allowed\n".utf8))
        }
        var response: HTTPResponse
        if request.path == Self.healthPath {
            response = stopping || isDraining
                ? HTTPResponse(status: 503, headers: noStore, body: Array("stopping\n".utf8))
                : HTTPResponse(status: 200, headers: noStore, body: Array("ok\n".utf8))
        } else {
            response = HTTPResponse(
                status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", headers: noStore,
                body: isHead ? [] : (metricsPage?() ?? []))
        }
        if isHead { response.body = [] }
        return response
    }

    /// Any thread: a stop that first drains for `milliseconds`: `/healthz` answers 503 at once while
    /// every client is still served, so a load balancer's checks take the node out of rotation before
    /// ``requestStop()`` closes the transports. 0 stops at once.
    public func requestStop(drainingFor milliseconds: Int64) {
        guard milliseconds > 0 else {
            requestStop()
            return
        }
        inbox.executeUrgent { [unowned self] in self.beginDrain(milliseconds: milliseconds) }
    }

    private func beginDrain(milliseconds: Int64) {
        guard !isDraining, !stopping, let context else { return }
        isDraining = true
        log.info("draining: /healthz answers 503; closing \(endpoints.reduce(0) { $0 + $1.engine.sessionCount }) sessions in \(milliseconds) ms")
        let timer = LWSTimer(context: context) { [unowned self] in self.requestStop() }
        timer.schedule(inMicroseconds: milliseconds * 1000)
        drainTimer = timer
    }

    private var noStore: [HTTPHeader] { [HTTPHeader("Cache-Control", "no-store")] }
}
