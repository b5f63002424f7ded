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
    /// The session moved to a new transport (polling → WebSocket). The default does nothing.
    func engineSessionDidUpgrade(_ session: EngineSession)
    /// Another node asks for the session (its client's new connection arrived there, ``NodeLink``): pack
    /// what this layer keeps for it and let go of it without treating it as ended, since it goes on there.
    /// Nil refuses the move (nothing may change then). The default keeps nothing: an empty state.
    func engineSessionWillMove(_ session: EngineSession) -> [UInt8]?
    /// A session arrived from another node with the state packed there. False when that state cannot be
    /// used: the engine then closes the session. The default takes only an empty state.
    func engineSession(_ session: EngineSession, didMoveInWith state: [UInt8]) -> Bool
    /// The layer above on node `node` sent this one a message (``EngineServer/sendUpper(_:to:)``).
    func engineServer(_ server: EngineServer, receivedFrom node: String, _ message: [UInt8])
}

extension EngineServerDelegate {
    public func engineSessionWillMove(_ session: EngineSession) -> [UInt8]? { [] }
    public func engineSession(_ session: EngineSession, didMoveInWith state: [UInt8]) -> Bool { state.isEmpty }
    public func engineServer(_ server: EngineServer, receivedFrom node: String, _ message: [UInt8]) {}
    public func engineSessionDidUpgrade(_ session: EngineSession) {}

    public func engineSession(_ session: EngineSession, didReceiveText text: UnsafeRawBufferPointer) {
        engineSession(session, didReceive: .message(Array(text)))
    }
}
