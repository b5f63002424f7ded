import EngineIO

extension Socket {
    /// Sends an event and waits at most `timeout` milliseconds for the client's acknowledgement, as
    /// socket.io's `socket.timeout(ms).emit(…)` does. `ack` is called exactly once: with the client's
    /// arguments, or with why none came (timed out, dropped at the `maxPendingAcks` bound, disconnected).
    /// - Parameters:
    ///   - event: the event name.
    ///   - arguments: the arguments after the name.
    ///   - timeout: milliseconds to wait for the answer.
    ///   - ack: the outcome.
    public func emit(
        _ event: String, _ arguments: [JSONValue] = [], timeout: Int64, ack: @escaping (Result<[JSONValue], AckFailure>) -> Void
    ) {
        guard isConnected else {
            ack(.failure(AckFailure(.disconnected)))
            return
        }
        emitExpectingAck(event, arguments, timeout: timeout, ack)
    }
}

/// Why an acknowledgement asked for with ``Socket/emit(_:_:timeout:ack:)`` did not come.
public struct AckFailure: Error, Equatable, Sendable, CustomStringConvertible {
    /// The cause; compare against the static members.
    public struct Reason: Hashable, Sendable {
        private enum Base: Hashable, Sendable { case timedOut, dropped, disconnected }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The timeout passed first.
        public static let timedOut = Reason(.timedOut)
        /// More than `maxPendingAcks` newer acknowledgements were waiting; this, the oldest, made room.
        public static let dropped = Reason(.dropped)
        /// The socket left its namespace first.
        public static let disconnected = Reason(.disconnected)

        fileprivate var text: String {
            switch base {
            case .timedOut: "operation has timed out"
            case .dropped: "dropped: too many acknowledgements waiting"
            case .disconnected: "socket disconnected"
            }
        }
    }

    /// The cause.
    public let reason: Reason

    init(_ reason: Reason) { self.reason = reason }

    /// socket.io's wording for a timeout (`operation has timed out`), and the like for the others.
    public var description: String { reason.text }
}
