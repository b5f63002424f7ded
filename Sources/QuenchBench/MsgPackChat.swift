/// The chat's packets in socket.io-msgpack-parser's form, for `--parser msgpack`: what the client sends
/// written by hand, and what the server sends turned back into the text form ``ChatScript`` judges, so a
/// reply is checked to the byte whichever parser carried it.
///
/// Only what the chat uses is read: maps, arrays, str, nil, bool and non-negative ints; anything else
/// makes the packet unreadable (nil), which fails the client.
enum MsgPackChat {
    /// CONNECT to `/`: `{"type":0,"nsp":"/"}`.
    static let connect: [UInt8] = [0x82, 0xA4] + Array("type".utf8) + [0x00, 0xA3] + Array("nsp".utf8) + [0xA1, 0x2F]

    /// `{"type":2,"data":["user_message",{"text":text}],"nsp":"/"}`.
    static func userMessage(text: String) -> [UInt8] {
        var out: [UInt8] = [0x83, 0xA4] + Array("type".utf8) + [0x02, 0xA4] + Array("data".utf8) + [0x92]
        appendString("user_message", to: &out)
        out += [0x81, 0xA4] + Array("text".utf8)
        appendString(text, to: &out)
        out += [0xA3] + Array("nsp".utf8) + [0xA1, 0x2F]
        return out
    }

    private static func appendString(_ text: String, to out: inout [UInt8]) {
        let bytes = Array(text.utf8)
        if bytes.count < 32 {
            out.append(0xA0 | UInt8(bytes.count))
        } else {
            out += [0xD9, UInt8(bytes.count)]  // the chat's texts stay below 256 bytes
        }
        out += bytes
    }

    /// A server packet as the JSON parser would have written it: `4<type>[<data as JSON>]` (namespace `/`).
    static func engineText(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        var reader = Reader(bytes: bytes)
        guard let count = reader.mapCount() else { return nil }
        var type: UInt8?
        var data: [UInt8] = []
        for _ in 0..<count {
            guard let key = reader.string() else { return nil }
            switch key {
            case "type": guard let value = reader.int() else { return nil }; type = UInt8(truncatingIfNeeded: value)
            case "data": guard reader.json(into: &data) else { return nil }
            default:
                var skipped: [UInt8] = []
                guard reader.json(into: &skipped) else { return nil }
            }
        }
        guard let type, reader.index == bytes.count else { return nil }
        return [UInt8(ascii: "4"), UInt8(ascii: "0") &+ type] + data
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        mutating func next() -> UInt8? {
            guard index < bytes.count else { return nil }
            defer { index += 1 }
            return bytes[index]
        }

        mutating func mapCount() -> Int? {
            guard let byte = next(), byte & 0xF0 == 0x80 else { return nil }
            return Int(byte & 0x0F)
        }

        mutating func int() -> Int? {
            guard let byte = next() else { return nil }
            if byte < 0x80 { return Int(byte) }
            if byte == 0xCC, let value = next() { return Int(value) }
            return nil
        }

        mutating func string() -> String? {
            guard let byte = next() else { return nil }
            let length: Int
            switch byte {
            case 0xA0...0xBF: length = Int(byte & 0x1F)
            case 0xD9: guard let value = next() else { return nil }; length = Int(value)
            default: return nil
            }
            guard index + length <= bytes.count else { return nil }
            defer { index += length }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[index..<(index + length)]), as: UTF8.self)
        }

        /// Appends the next value as compact JSON (strings escaped as the JSON writer escapes the chat's).
        mutating func json(into out: inout [UInt8]) -> Bool {
            guard index < bytes.count else { return false }
            let byte = bytes[index]
            switch byte {
            case 0x80...0x8F:
                index += 1
                out.append(UInt8(ascii: "{"))
                for member in 0..<Int(byte & 0x0F) {
                    if member > 0 { out.append(UInt8(ascii: ",")) }
                    guard let key = string() else { return false }
                    appendJSONString(key, to: &out)
                    out.append(UInt8(ascii: ":"))
                    guard json(into: &out) else { return false }
                }
                out.append(UInt8(ascii: "}"))
            case 0x90...0x9F:
                index += 1
                out.append(UInt8(ascii: "["))
                for element in 0..<Int(byte & 0x0F) {
                    if element > 0 { out.append(UInt8(ascii: ",")) }
                    guard json(into: &out) else { return false }
                }
                out.append(UInt8(ascii: "]"))
            case 0xA0...0xBF, 0xD9:
                guard let text = string() else { return false }
                appendJSONString(text, to: &out)
            case 0xC0: index += 1; out += Array("null".utf8)
            case 0xC2: index += 1; out += Array("false".utf8)
            case 0xC3: index += 1; out += Array("true".utf8)
            default:
                guard let value = int() else { return false }
                out += Array(String(value).utf8)
            }
            return true
        }

        private func appendJSONString(_ text: String, to out: inout [UInt8]) {
            out.append(UInt8(ascii: "\""))
            for byte in text.utf8 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                out.append(byte)
            }
            out.append(UInt8(ascii: "\""))
        }
    }
}
