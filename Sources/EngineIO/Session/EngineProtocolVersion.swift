/// The Engine.IO protocol revision a session speaks, from the handshake's `EIO` parameter.
///
/// What differs in v3 (socket.io-client 2.x, socket.io-client-java 1.x, python-engineio 3.x): the client
/// pings and the server answers (``Heartbeat`` in its client-ping mode), polling payloads are
/// length-prefixed (``EnginePacket/encodePollingPayloadV3(_:base64:)``), and a binary WebSocket frame starts
/// with the packet type as a raw byte (`0x04`). Everything else — packets, the upgrade, the bounds — is v4's.
public enum EngineProtocolVersion: Int, Sendable, Equatable {
    case v3 = 3
    case v4 = 4

    /// The revision a request's `EIO` parameter names (one digit, the case's raw value), nil for any other
    /// value; read without making a `String` of it.
    public init?(query: QueryParameters) {
        guard let version = query.withValue("EIO", { value -> Self? in
            guard let value, value.count == 1 else { return nil }
            return Self(rawValue: Int(value[0]) - Int(UInt8(ascii: "0")))
        }) else { return nil }
        self = version
    }
}
