/// The registration: the two transports Engine.IO v4 defines. The only place outside their own files
/// that names them.
extension TransportRegistry {
    /// Long-polling (which may upgrade to WebSocket) and WebSocket.
    public static let standard = TransportRegistry([PollingTransport.kind, WebSocketTransport.kind])
}
