/// What the layer above Engine.IO (Socket.IO, or a bare echo app) hears from the engine.
/// Every call comes on the service thread.
public protocol EngineServerDelegate: AnyObject {
    /// A client finished the handshake; its open packet is already queued.
    func engineSessionDidOpen(_ session: EngineSession)
    /// A message packet (text or binary) arrived.
    func engineSession(_ session: EngineSession, didReceive packet: EnginePacket)
    /// The session ended; it sends and receives nothing more.
    func engineSession(_ session: EngineSession, didCloseWith reason: DisconnectReason)
}
