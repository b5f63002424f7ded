import CLibWebSockets
import EngineIO
import QuenchSystem

/// Routes libwebsockets' own log lines into quench's logger, so the server has one log format and
/// lws never prints on its own.
///
/// While the context is being created, lines are held back instead: if creation fails, the caller
/// turns them into one line that names the cause, rather than lws's multi-line dump.
enum LWSLogBridge {
    private struct State {
        var logger: Logger?
        var held: [(LogLevel, String)]?
    }

    private static let state = Lock(State())

    /// Installs the bridge; lws errors become `error` lines, warnings `warn`, notices `debug`.
    static func install(_ log: Logger) {
        state.withLock { $0.logger = log }
        var levels = LLL_ERR | LLL_WARN
        if log.isEnabled(.debug) { levels |= LLL_NOTICE }
        lws_set_log_level(levels) { level, line in
            guard let line else { return }
            var text = String(cString: line)
            while text.last == "\n" || text.last == "\r" { text.removeLast() }
            var ours: LogLevel = level & LLL_ERR != 0 ? .error : level & LLL_WARN != 0 ? .warn : .debug
            // Our own refusal line already says why a handshake was denied.
            if text.contains("User code denied connection") { ours = .debug }
            // A header cut at its limit: the request is answered 431 once complete (HeaderLimits).
            if let token = HeaderLimits.truncatedToken(inLWSLine: text) {
                HeaderLimits.noteTruncated(token)
                ours = .debug
            }
            if text.contains("Ran out of header data space") {
                text = "request headers over \(HeaderLimits.total) bytes in total: connection closed without an answer"
                ours = .warn
            }
            let logger = LWSLogBridge.state.withLock { state -> Logger? in
                if state.held != nil {
                    state.held?.append((ours, text))
                    return nil
                }
                return state.logger
            }
            logger?.log(ours, "lws: \(text)")
        }
    }

    /// Holds lws's lines until ``release(logging:)``.
    static func hold() {
        state.withLock { $0.held = [] }
    }

    /// Stops holding and returns what was held; with `logging`, the lines are logged as they would have been.
    @discardableResult
    static func release(logging: Bool) -> [String] {
        let (held, logger) = state.withLock { state in
            defer { state.held = nil }
            return (state.held ?? [], state.logger)
        }
        if logging { for (level, text) in held { logger?.log(level, "lws: \(text)") } }
        return held.map(\.1)
    }
}
