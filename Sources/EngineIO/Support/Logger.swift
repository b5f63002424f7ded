/// How much the server says: each level includes the ones before it.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case error, warn, info, debug

    /// The word used on the command line and at the start of each log line.
    public var name: String {
        switch self {
        case .error: "error"
        case .warn: "warn"
        case .info: "info"
        case .debug: "debug"
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A leveled line logger shared by every layer; one line per event, `key=value` fields.
///
/// Messages are autoclosures so that a disabled level costs a comparison, not a string build: per-packet
/// lines sit at debug and must be free under load.
public struct Logger: Sendable {
    /// The most detailed level written.
    public var level: LogLevel
    /// Where finished lines go.
    private let sink: any LogSink
    /// Counts and leaves out the lines a client repeats at will (``limited(_:cause:source:_:)``); shared by
    /// every copy of this logger.
    public let floodGuard: LogFloodGuard

    /// - Parameters:
    ///   - level: the most detailed level written; default info.
    ///   - sink: receives each finished line (with its newline). QuenchSystem adds `Logger(level:)`, which
    ///     writes to standard error; the engine itself never writes anywhere.
    public init(level: LogLevel = .info, sink: any LogSink, floodGuard: LogFloodGuard = LogFloodGuard()) {
        self.level = level
        self.sink = sink
        self.floodGuard = floodGuard
    }

    /// A logger whose lines go to `sink`, a closure: how tests capture what was logged.
    public init(level: LogLevel = .info, sink: @escaping @Sendable (String) -> Void) {
        self.init(level: level, sink: ClosureLogSink(sink))
    }

    /// Whether lines at `level` are written.
    @inlinable public func isEnabled(_ level: LogLevel) -> Bool { level <= self.level }

    /// The longest line written, in bytes of the message; a longer one is cut and says so.
    public static let maxLineBytes = 2048

    /// Writes one line. Fields from clients go through ``LogSafe`` at the call site; this is the backstop:
    /// a control character that still slips through is escaped here, and no line exceeds ``maxLineBytes``,
    /// so nothing a peer sends can forge a line or flood the log.
    public func log(_ level: LogLevel, _ message: @autoclosure () -> String) {
        guard isEnabled(level) else { return }
        var text = message()
        if text.utf8.count > Self.maxLineBytes || text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            text = LogSafe.backstop(text, limit: Self.maxLineBytes)
        }
        sink.write("\(level.name) \(text)\n")
    }

    public func error(_ message: @autoclosure () -> String) { log(.error, message()) }
    public func warn(_ message: @autoclosure () -> String) { log(.warn, message()) }
    public func info(_ message: @autoclosure () -> String) { log(.info, message()) }
    public func debug(_ message: @autoclosure () -> String) { log(.debug, message()) }
}
