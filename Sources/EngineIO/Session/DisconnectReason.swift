/// Why an Engine.IO session ended, with the reference servers' wording (it shows up in logs and in the
/// reason handed to the application's disconnect handler).
public enum DisconnectReason: String, Sendable, CaseIterable {
    /// The client closed the connection, or sent a close packet.
    case transportClose = "transport close"
    /// The connection failed (a polling request aborted, a socket error).
    case transportError = "transport error"
    /// The client did not answer a ping within pingTimeout.
    case pingTimeout = "ping timeout"
    /// The server closed the session (a namespace handler disconnected it, or the server refused it).
    case forcedClose = "forced close"
    /// The client sent something that is not the protocol.
    case parseError = "parse error"
    /// The server is stopping.
    case serverShutdown = "server shutting down"
}
