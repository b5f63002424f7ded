/// Engine.IO 3's polling payloads (engine.io-parser 2.x, python-engineio 3.x), in their two forms:
///
/// - text: each packet as `<length>:<packet>`, the length counted in UTF-16 code units as JavaScript
///   counts a string's length, a binary packet as `b4<base64>`;
/// - binary: each packet as a kind byte (0 text, 1 binary), its length in decimal digits given as bytes
///   0–9, the byte 0xFF, then the packet's bytes (a binary packet's type as the raw byte 4, then its data).
///
/// A client that sent `b64=1` can only read text. For the others the server writes binary when a packet
/// is binary, as Node's engine.io 3 does, and also when a packet holds a character beyond the BMP: there
/// JavaScript's length and python-engineio 3's (code points) disagree, and byte lengths mean one thing
/// to every client.
extension EnginePacket {
    /// The most length digits one packet of a v3 payload may announce (more cannot fit maxPayload).
    static let maxV3LengthDigits = 10

    /// One polling response body for an Engine.IO 3 client, and its content type.
    /// - Parameters:
    ///   - packets: the packets, in order.
    ///   - base64: whether the client asked for text only (`b64=1`).
    public static func encodePollingPayloadV3(_ packets: [EnginePacket], base64: Bool) -> (body: [UInt8], contentType: String) {
        let binary = !base64 && packets.contains { $0.isBinary || $0.payload.contains { $0 >= 0xF0 } }
        var out: [UInt8] = []
        out.reserveCapacity(packets.reduce(0) { $0 + $1.payload.count + 8 })
        if binary {
            for packet in packets {
                out.append(packet.isBinary ? 1 : 0)
                let length = packet.payload.count + 1
                for digit in String(length).utf8 { out.append(digit &- UInt8(ascii: "0")) }
                out.append(0xFF)
                out.append(packet.isBinary ? packet.type.rawValue : packet.type.digit)
                out.append(contentsOf: packet.payload)
            }
            return (out, "application/octet-stream")
        }
        for packet in packets {
            var text: [UInt8] = []
            if packet.isBinary {
                text.append(UInt8(ascii: "b"))
                text.append(packet.type.digit)
                Base64.encode(packet.payload, into: &text)
            } else {
                text.append(packet.type.digit)
                text.append(contentsOf: packet.payload)
            }
            out.append(contentsOf: String(utf16Length(text)).utf8)
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: text)
        }
        return (out, "text/plain; charset=UTF-8")
    }

    /// Splits an Engine.IO 3 polling request body (either form, told apart by its first byte) into packets.
    /// Any malformed packet fails the whole body, as in v4.
    public static func decodePollingPayloadV3(_ body: [UInt8]) throws(EngineDecodingError) -> [EnginePacket] {
        guard let first = body.first else { throw .empty }
        return first <= 1 ? try decodeBinaryPayloadV3(body) : try decodeTextPayloadV3(body)
    }

    private static func decodeBinaryPayloadV3(_ body: [UInt8]) throws(EngineDecodingError) -> [EnginePacket] {
        var packets: [EnginePacket] = []
        var index = 0
        while index < body.count {
            let kind = body[index]
            guard kind <= 1 else { throw .badLength }
            index += 1
            var length = 0
            var digits = 0
            while index < body.count, body[index] != 0xFF {
                guard body[index] <= 9, digits < maxV3LengthDigits else { throw .badLength }
                length = length * 10 + Int(body[index])
                digits += 1
                index += 1
            }
            guard digits > 0, index < body.count, length >= 1, length <= body.count - index - 1 else { throw .badLength }
            index += 1  // 0xFF
            let part = body[index..<(index + length)]
            index += length
            if kind == 1 {
                guard part.first == EnginePacketType.message.rawValue else { throw .unknownType(part.first ?? 0) }
                packets.append(.binary(Array(part.dropFirst())))
            } else {
                packets.append(try textPacket(part))
            }
        }
        return packets
    }

    private static func decodeTextPayloadV3(_ body: [UInt8]) throws(EngineDecodingError) -> [EnginePacket] {
        var packets: [EnginePacket] = []
        var index = 0
        while index < body.count {
            var length = 0
            var digits = 0
            while index < body.count, body[index] != UInt8(ascii: ":") {
                let byte = body[index]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < maxV3LengthDigits else { throw .badLength }
                length = length * 10 + Int(byte &- UInt8(ascii: "0"))
                digits += 1
                index += 1
            }
            guard digits > 0, index < body.count, length >= 1 else { throw .badLength }
            index += 1  // ':'
            guard let end = utf8Offset(afterUTF16Units: length, in: body, from: index) else { throw .badLength }
            let part = body[index..<end]
            index = end
            if part.first == UInt8(ascii: "b") {
                // `b4<base64>`: only a message can be binary.
                guard part.count >= 2, part[part.startIndex + 1] == EnginePacketType.message.digit else { throw .badBase64 }
                guard let bytes = Base64.decode(part.dropFirst(2)) else { throw .badBase64 }
                packets.append(.binary(bytes))
            } else {
                packets.append(try textPacket(part))
            }
        }
        return packets
    }

    private static func textPacket(_ part: ArraySlice<UInt8>) throws(EngineDecodingError) -> EnginePacket {
        guard let first = part.first else { throw .empty }
        guard let type = EnginePacketType(digit: first) else { throw .unknownType(first) }
        return EnginePacket(type, Array(part.dropFirst()))
    }

    /// The length of UTF-8 `bytes` in UTF-16 code units (a four-byte sequence is two).
    static func utf16Length(_ bytes: [UInt8]) -> Int {
        var units = 0
        for byte in bytes where byte & 0xC0 != 0x80 { units += byte >= 0xF0 ? 2 : 1 }
        return units
    }

    /// The offset just past `units` UTF-16 code units of well-formed UTF-8 starting at `start`; nil if the
    /// bytes end first, are not UTF-8, or the count ends inside a character.
    static func utf8Offset(afterUTF16Units units: Int, in bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        var counted = 0
        while counted < units {
            guard index < bytes.count else { return nil }
            let lead = bytes[index]
            let width: Int
            switch lead {
            case 0x00..<0x80: width = 1
            case 0xC2..<0xE0: width = 2
            case 0xE0..<0xF0: width = 3
            case 0xF0..<0xF5: width = 4
            default: return nil
            }
            guard index + width <= bytes.count else { return nil }
            for offset in 1..<max(width, 1) where bytes[index + offset] & 0xC0 != 0x80 { return nil }
            counted += width == 4 ? 2 : 1
            index += width
        }
        return counted == units ? index : nil
    }
}
