/// Why talking to Redis failed; the message names the cause (never the password).
public struct RedisError: Error, CustomStringConvertible {
    private enum Kind { case connect, io, protocolError, reply }
    private let kind: Kind
    /// What went wrong, for the log.
    public let description: String

    private init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    /// Whether the peer broke the protocol (or one of the reader's bounds): a peer that does it again right
    /// after each reconnect should not be retried at the shortest delay for ever.
    var isProtocolViolation: Bool { kind == .protocolError }

    /// The TCP connection could not be made.
    static func connect(_ detail: String) -> RedisError { RedisError(.connect, detail) }
    /// A read or write failed, or the peer closed the connection.
    static func io(_ detail: String) -> RedisError { RedisError(.io, detail) }
    /// The peer sent something unexpected.
    static func protocolError(_ detail: String) -> RedisError { RedisError(.protocolError, detail) }
    /// Redis answered a command with an error reply (`-ERR …`).
    static func reply(_ detail: String) -> RedisError { RedisError(.reply, detail) }
}
