import CLibWebSockets
import EngineIO
import Synchronization

/// Routes libwebsockets' own log lines into quench's logger, so the server has one log format and
/// lws never prints on its own.
enum LWSLogBridge {
    private static let logger = Mutex<Logger?>(nil)

    /// Installs the bridge; lws errors become `error` lines, warnings `warn`, notices `debug`.
    static func install(_ log: Logger) {
        logger.withLock { $0 = log }
        var levels = Int32(LLL_ERR | LLL_WARN)
        if log.isEnabled(.debug) { levels |= Int32(LLL_NOTICE) }
        lws_set_log_level(levels) { level, line in
            guard let line else { return }
            var text = String(cString: line)
            while text.last == "\n" || text.last == "\r" { text.removeLast() }
            let ours: LogLevel = level & Int32(LLL_ERR) != 0 ? .error : level & Int32(LLL_WARN) != 0 ? .warn : .debug
            LWSLogBridge.logger.withLock { $0 }?.log(ours, "lws: \(text)")
        }
    }
}
