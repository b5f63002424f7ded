/// Text that came from a client (or from Redis) made fit for one log line: control characters, quotes,
/// backslashes and bytes that are not UTF-8 are shown as escapes, never written, and the result is cut to
/// a short fixed length that says how long the original was.
///
/// Why: a namespace, an event name or a transport name is whatever the peer sent. Written raw, `\n` forges
/// a second log line and a 1 MB argument becomes a 1 MB line. Every such field goes through here.
public enum LogSafe {
    /// How many bytes of a client's text a log line shows by default.
    public static let defaultLimit = 96

    /// `text`, escaped and cut to at most `limit` bytes of the original.
    public static func text(_ text: some StringProtocol, limit: Int = defaultLimit) -> String {
        var copy = String(text)
        return copy.withUTF8 { bytes(UnsafeRawBufferPointer($0), limit: limit) }
    }

    /// Raw bytes (a payload, a header), escaped and cut to at most `limit` bytes of the original.
    public static func bytes(_ raw: some Collection<UInt8>, limit: Int = defaultLimit) -> String {
        if let result = raw.withContiguousStorageIfAvailable({ bytes(UnsafeRawBufferPointer($0), limit: limit) }) {
            return result
        }
        return Array(raw).withUnsafeBytes { bytes($0, limit: limit) }
    }

    /// The escaping itself: printable ASCII as is, `\n` `\r` `\t` `\"` `\\` spelled out, every other byte
    /// below 0x20 or at 0x7F as `\xNN`; UTF-8 sequences kept whole when valid, `\xNN` each byte otherwise.
    public static func bytes(_ raw: UnsafeRawBufferPointer, limit: Int = defaultLimit) -> String {
        let shown = min(raw.count, max(limit, 0))
        var out: [UInt8] = []
        out.reserveCapacity(shown + 16)
        var index = 0
        while index < shown {
            let byte = raw[index]
            switch byte {
            case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), byte]
            case 0x20..<0x7F: out.append(byte)
            case 0x80...:
                let length = validSequenceLength(raw, at: index, end: shown)
                if length > 0 {
                    out.append(contentsOf: raw[index..<(index + length)])
                    index += length
                    continue
                }
                appendHex(byte, to: &out)
            default: appendHex(byte, to: &out)
            }
            index += 1
        }
        if raw.count > shown {
            out += Array("…(\(raw.count) bytes)".utf8)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A whole log line that still holds control characters or is too long: only those are escaped
    /// (quotes and backslashes the line's own fields put there stay as they are), then the line is cut.
    static func backstop(_ line: String, limit: Int) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(min(line.utf8.count, limit) + 16)
        var taken = 0
        for byte in line.utf8 {
            guard taken < limit else { break }
            taken += 1
            if byte < 0x20 || byte == 0x7F { appendHex(byte, to: &out) } else { out.append(byte) }
        }
        if line.utf8.count > taken { out += Array("…(line of \(line.utf8.count) bytes cut)".utf8) }
        return String(decoding: out, as: UTF8.self)
    }

    private static func appendHex(_ byte: UInt8, to out: inout [UInt8]) {
        let digits = Array("0123456789abcdef".utf8)
        out += [UInt8(ascii: "\\"), UInt8(ascii: "x"), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
    }

    /// The length of the well-formed UTF-8 sequence starting at `index` (2–4), or 0 if it is not one
    /// (overlong forms, surrogates, and C1 control characters U+0080–U+009F count as not well-formed here).
    private static func validSequenceLength(_ raw: UnsafeRawBufferPointer, at index: Int, end: Int) -> Int {
        let lead = raw[index]
        let length: Int
        var scalar: UInt32
        switch lead {
        case 0xC2...0xDF: length = 2; scalar = UInt32(lead & 0x1F)
        case 0xE0...0xEF: length = 3; scalar = UInt32(lead & 0x0F)
        case 0xF0...0xF4: length = 4; scalar = UInt32(lead & 0x07)
        default: return 0
        }
        guard index + length <= end else { return 0 }
        for offset in 1..<length {
            let next = raw[index + offset]
            guard next & 0xC0 == 0x80 else { return 0 }
            scalar = scalar << 6 | UInt32(next & 0x3F)
        }
        let minimum: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000
        guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar), !(0x80...0x9F).contains(scalar),
            scalar != 0x2028, scalar != 0x2029
        else { return 0 }
        return length
    }
}
