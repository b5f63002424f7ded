import EngineIO

/// The bare Engine.IO application the engine.io-protocol suite talks to at `/engine.io/`: every message
/// goes back to its sender exactly as it came, text or binary. No Socket.IO layer. Service thread only.
final class EchoApp: EngineServerDelegate {
    /// Becomes `engine`'s delegate; the engine keeps only a weak reference, so the caller keeps the app.
    init(engine: EngineServer) {
        engine.delegate = self
    }

    func engineSessionDidOpen(_ session: EngineSession) {}

    func engineSession(_ session: EngineSession, didReceive packet: EnginePacket) {
        session.send(packet)
    }

    func engineSession(_ session: EngineSession, didCloseWith reason: DisconnectReason) {}
}
