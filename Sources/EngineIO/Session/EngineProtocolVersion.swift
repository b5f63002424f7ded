/// The Engine.IO protocol revision a session speaks, from the handshake's `EIO` parameter.
///
/// What differs in v3 (socket.io-client 2.x, socket.io-client-java 1.x, python-engineio 3.x): the client
/// pings and the server answers (``Heartbeat`` in its client-ping mode), polling payloads are
/// length-prefixed (``EnginePacket/encodePollingPayloadV3(_:base64:)``), and a binary WebSocket frame starts
/// with the packet type as a raw byte (`0x04`). Everything else — packets, the upgrade, the bounds — is v4's.
public enum EngineProtocolVersion: Int, Sendable, Equatable {
    case v3 = 3
    case v4 = 4

    /// The version an `EIO` query value names, nil for any other value.
    /// The revision a request's `EIO` parameter asks for, read without making a `String` of it.
    public init?(query: QueryParameters) {
        guard let version = query.withValue("EIO", { value -> Self? in
            guard let value, value.count == 1 else { return nil }
            return value[0] == UInt8(ascii: "4") ? .v4 : value[0] == UInt8(ascii: "3") ? .v3 : nil
        }) else { return nil }
        self = version
    }

    public init?(query value: String?) {
        switch value {
        case "4": self = .v4
        case "3": self = .v3
        default: return nil
        }
    }
}
