/// What the Socket.IO layer can be tuned with (the Engine.IO knobs live in `EngineConfiguration`).
/// Defaults are the reference server's.
public struct SocketIOConfiguration: Sendable {
    /// How long an Engine.IO connection may stay without joining any namespace before it is closed, in
    /// milliseconds (reference default 45 000). Zero or less turns the check off.
    public var connectTimeout: Int64
    /// How many acknowledgements one socket may owe at once (emits with an ack the client has not answered);
    /// past it the oldest is dropped and counted. The reference servers keep them without limit.
    public var maxPendingAcks: Int

    /// - Parameters:
    ///   - connectTimeout: milliseconds a new connection has to join a namespace; default 45 000.
    ///   - maxPendingAcks: acknowledgements one socket may owe at once; default 100.
    public init(connectTimeout: Int64 = 45_000, maxPendingAcks: Int = 100) {
        self.connectTimeout = connectTimeout
        self.maxPendingAcks = maxPendingAcks
    }
}
