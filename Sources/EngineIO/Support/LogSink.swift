/// Where a ``Logger``'s finished lines go. The engine only formats lines; writing them is the process's
/// business (QuenchSystem's `StandardErrorLog` writes to fd 2), and a test captures them with a closure.
public protocol LogSink: Sendable {
    /// Receives one finished line, level word first and newline last. Called from any thread that logs.
    func write(_ line: String)
}

/// A sink that hands each line to a closure: how tests capture lines, and how a caller adapts any writer.
public struct ClosureLogSink: LogSink {
    private let body: @Sendable (String) -> Void

    public init(_ body: @escaping @Sendable (String) -> Void) { self.body = body }

    public func write(_ line: String) { body(line) }
}
