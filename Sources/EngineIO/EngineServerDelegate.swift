/// What the layer above Engine.IO (Socket.IO, or a bare echo app) hears from the engine.
/// Every call comes on the service thread.
public protocol EngineServerDelegate: AnyObject {
    /// A client finished the handshake; its open packet is already queued. A session that ended while its
    /// open packet was sent is not announced: the delegate hears only its close.
    func engineSessionDidOpen(_ session: EngineSession)
    /// A message packet (text or binary) arrived.
    func engineSession(_ session: EngineSession, didReceive packet: EnginePacket)
    /// A text message arrived on a WebSocket: `text` is its payload (after the `4`), still in the
    /// transport's receive buffer and valid only for the call. The default copies it into a packet for
    /// ``engineSession(_:didReceive:)``; a delegate that decodes in place saves that copy per message.
    func engineSession(_ session: EngineSession, didReceiveText text: UnsafeRawBufferPointer)
    /// The session ended; it sends and receives nothing more.
    func engineSession(_ session: EngineSession, didCloseWith reason: DisconnectReason)
}

extension EngineServerDelegate {
    public func engineSession(_ session: EngineSession, didReceiveText text: UnsafeRawBufferPointer) {
        engineSession(session, didReceive: .message(Array(text)))
    }
}
