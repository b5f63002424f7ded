/// One way of carrying a session's packets to a client and back.
///
/// The session and the server talk only to this protocol, never to an I/O library or a concrete
/// transport: WebSocket and HTTP long-polling are two implementations, registered in
/// ``TransportRegistry/standard``, and tests register an in-memory one. A transport reports what it
/// receives by calling ``EngineSession/receive(_:from:)`` and its end by ``EngineSession/transportClosed(_:reason:)``.
public protocol Transport: AnyObject {
    /// The name clients use for it (its ``TransportKind``'s).
    var name: TransportName { get }
    /// Whether ``send(_:)`` can deliver right now (polling: only while a GET is waiting).
    var isWritable: Bool { get }
    /// The session this transport carries; the session sets it when it adopts the transport and clears it
    /// when it closes or drops the transport (transports hold it strongly; the session breaks the cycle).
    var session: EngineSession? { get set }
    /// Delivers packets, in order. Called only while ``isWritable``.
    func send(_ packets: [EnginePacket])
    /// Delivers one packet: the common case (a reply, a broadcast), which a framed transport can send
    /// without building an array. Called only while ``isWritable``.
    func send(_ packet: EnginePacket)
    /// The most packets one ``send(_:)`` may carry; the rest wait for the next chance. Default: no limit.
    var maxPacketsPerSend: Int { get }
    /// Ends the transport. It reports nothing to the session afterwards.
    func close()
    /// Ends the transport because its session ended for `reason` (a WebSocket says 1001 "going away" when
    /// the server stops). The default is ``close()``.
    func close(reason: DisconnectReason)
    /// Whether, once its session has moved to another transport, it stays open for a moment before
    /// ``closeAfterUpgrade()`` (a poll held on it is answered only after the new transport's first frames
    /// have had a loop turn to leave). Default false: it is closed at once.
    var lingersAfterUpgrade: Bool { get }
    /// Ends the transport because its session moved to another. The default is ``close()``.
    func closeAfterUpgrade()
    /// A plain HTTP request for this transport's session (or the handshake that opened it): answered, held,
    /// or refused with the returned error, which the server logs and sends. The default refuses: only a
    /// transport that travels over plain HTTP takes such requests.
    func handle(
        _ request: HTTPRequest, responder: any HTTPResponder, headers: [HTTPHeader],
        onAbandon: (@escaping () -> Void) -> Void
    ) -> EngineRequestError?
    /// What this transport itself still holds for the client, against `--max-buffered`, and how much of
    /// its stream has left (a polling transport holds nothing: the session queues for it).
    var outbound: OutboundBudget { get }
    /// The connection that carries each packet as one frame, when this transport has one: a broadcast's
    /// frame, built once for every recipient (``SharedTextFrame``), goes straight to it. Default nil: the
    /// packet goes through ``send(_:)`` (a transport that batches packets cannot take a prebuilt frame).
    var frameConnection: (any WebSocketConnection)? { get }
    /// Hands the session what the transport received before it had one (a WebSocket whose session was
    /// still on its way from another node, ``NodeLink``), in order. Default: nothing is ever kept.
    func releaseHeldPackets()
}

extension Transport {
    public func send(_ packet: EnginePacket) { send([packet]) }
    public var frameConnection: (any WebSocketConnection)? { nil }
    public var maxPacketsPerSend: Int { Int.max }
    public func close(reason: DisconnectReason) { close() }
    public var lingersAfterUpgrade: Bool { false }
    public func closeAfterUpgrade() { close() }
    public func handle(
        _ request: HTTPRequest, responder: any HTTPResponder, headers: [HTTPHeader],
        onAbandon: (@escaping () -> Void) -> Void
    ) -> EngineRequestError? {
        .badRequest("sid=\(session.map { $0.id } ?? "?") uses transport=\(name), which does not travel over plain HTTP")
    }
    public var outbound: OutboundBudget { OutboundBudget.holdingNothing }
    public func releaseHeldPackets() {}
}
