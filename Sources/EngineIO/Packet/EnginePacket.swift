/// One Engine.IO v4 packet: a type and its payload.
///
/// Text payloads are kept as UTF-8 bytes, never as `String`, because the layers above parse and build
/// bytes directly; converting every message to `String` and back would cost a validation and a copy.
public struct EnginePacket: Equatable, Sendable {
    /// What the packet means.
    public var type: EnginePacketType
    /// The bytes after the type digit (text), or the whole binary message.
    public var payload: [UInt8]
    /// Only `.message` packets can be binary; on WebSocket they travel as binary frames, on polling as `b` + base64.
    public var isBinary: Bool

    /// - Parameters:
    ///   - type: the packet type.
    ///   - payload: the text after the type digit, or the binary message.
    ///   - isBinary: whether the payload is binary (messages only).
    public init(_ type: EnginePacketType, _ payload: [UInt8] = [], isBinary: Bool = false) {
        self.type = type
        self.payload = payload
        self.isBinary = isBinary
    }

    /// A text message carrying an upper-layer (Socket.IO) packet.
    public static func message(_ text: [UInt8]) -> EnginePacket { EnginePacket(.message, text) }
    /// A binary message (a Socket.IO attachment).
    public static func binary(_ bytes: [UInt8]) -> EnginePacket { EnginePacket(.message, bytes, isBinary: true) }

    /// The ASCII word "probe", the payload of the upgrade handshake's ping and pong.
    public static let probe: [UInt8] = Array("probe".utf8)
}

/// The seven Engine.IO packet types, numbered as on the wire.
public enum EnginePacketType: UInt8, Sendable {
    case open = 0, close, ping, pong, message, upgrade, noop

    /// The ASCII digit that starts the packet on the wire.
    @inlinable public var digit: UInt8 { 0x30 &+ rawValue }

    /// The type named by an ASCII digit, or nil for anything else.
    @inlinable public init?(digit: UInt8) {
        guard digit >= 0x30, let type = EnginePacketType(rawValue: digit &- 0x30) else { return nil }
        self = type
    }
}
