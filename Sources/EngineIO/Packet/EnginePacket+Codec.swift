/// Wire forms of Engine.IO packets: one WebSocket frame per packet, or a polling payload of many.
extension EnginePacket {
    /// The record separator between packets in a polling payload.
    public static let separator: UInt8 = 0x1E

    /// Encodes the packet as one WebSocket frame's bytes: `<digit><payload>` for text, the raw bytes for binary.
    public func webSocketFrame() -> [UInt8] {
        if isBinary { return payload }
        var out = [UInt8]()
        out.reserveCapacity(payload.count + 1)
        out.append(type.digit)
        out.append(contentsOf: payload)
        return out
    }

    /// Decodes one WebSocket frame. Binary frames are always binary messages.
    public static func decode(webSocketFrame bytes: [UInt8], isBinary: Bool) throws(EngineDecodingError) -> EnginePacket {
        // withUnsafeBytes rethrows untyped errors: carry the typed one out in a Result.
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(EngineDecodingError) in try decode(webSocketFrame: buffer, isBinary: isBinary) }
        }.get()
    }

    /// Decodes one WebSocket frame straight from the receive buffer: the payload is copied once, into
    /// the packet, without the type digit.
    public static func decode(webSocketFrame bytes: UnsafeRawBufferPointer, isBinary: Bool) throws(EngineDecodingError) -> EnginePacket {
        if isBinary { return .binary(Array(bytes)) }
        guard let first = bytes.first else { throw .empty }
        guard let type = EnginePacketType(digit: first) else { throw .unknownType(first) }
        return EnginePacket(type, Array(UnsafeRawBufferPointer(rebasing: bytes[1...])))
    }

    /// Appends the packet in its polling form: `<digit><payload>`, or `b<base64>` for binary.
    public func appendPollingForm(to out: inout [UInt8]) {
        if isBinary {
            out.append(UInt8(ascii: "b"))
            Base64.encode(payload, into: &out)
        } else {
            out.append(type.digit)
            out.append(contentsOf: payload)
        }
    }

    /// Joins packets into one polling response body, separated by the record separator.
    public static func encodePollingPayload(_ packets: [EnginePacket]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(packets.reduce(0) { $0 + $1.payload.count + 2 })
        for (index, packet) in packets.enumerated() {
            if index > 0 { out.append(separator) }
            packet.appendPollingForm(to: &out)
        }
        return out
    }

    /// Splits a polling request body into packets. Any malformed packet fails the whole body,
    /// because the protocol gives no way to tell the client which part was refused.
    public static func decodePollingPayload(_ body: [UInt8]) throws(EngineDecodingError) -> [EnginePacket] {
        var packets = [EnginePacket]()
        var start = body.startIndex
        while start <= body.endIndex {
            let end = body[start...].firstIndex(of: separator) ?? body.endIndex
            let part = body[start..<end]
            guard let first = part.first else { throw .empty }
            if first == UInt8(ascii: "b") {
                guard let bytes = Base64.decode(part.dropFirst()) else { throw .badBase64 }
                packets.append(.binary(bytes))
            } else {
                guard let type = EnginePacketType(digit: first) else { throw .unknownType(first) }
                packets.append(EnginePacket(type, Array(part.dropFirst())))
            }
            start = end + 1
        }
        return packets
    }
}

/// Why bytes from a client are not an Engine.IO packet.
public enum EngineDecodingError: Error, Equatable, CustomStringConvertible {
    /// An empty frame or an empty part of a polling payload.
    case empty
    /// A first byte that is not one of the seven type digits.
    case unknownType(UInt8)
    /// A `b` packet whose payload is not base64.
    case badBase64
    /// An Engine.IO 3 payload whose length prefix is malformed or runs past the body.
    case badLength

    public var description: String {
        switch self {
        case .empty: "empty packet"
        case .unknownType(let byte): "unknown packet type \(byte < 0x20 || byte > 0x7E ? "0x" + String(byte, radix: 16) : "'\(Character(Unicode.Scalar(byte)))'")"
        case .badBase64: "binary packet is not valid base64"
        case .badLength: "bad length prefix in an Engine.IO 3 payload"
        }
    }
}
