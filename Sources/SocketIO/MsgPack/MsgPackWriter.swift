/// Writes a ``JSONValue`` as MessagePack, in the smallest format for each value, as python's `msgpack` and
/// JavaScript's `notepack.io` (socket.io-msgpack-parser's encoder) do: ints in the narrowest int format,
/// every double as float 64, `.binary` as bin, strings as str (UTF-8), objects as maps in member order.
public enum MsgPackWriter {
    /// The MessagePack bytes of `value`.
    public static func encode(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        append(value, to: &out)
        return out
    }

    /// Appends the MessagePack bytes of `value` to `out`.
    public static func append(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .null: out.append(0xC0)
        case .bool(let flag): out.append(flag ? 0xC3 : 0xC2)
        case .int(let number): appendInteger(number, to: &out)
        case .double(let number):
            out.append(0xCB)
            appendBigEndian(number.bitPattern, width: 8, to: &out)
        case .string(let string): appendString(string, to: &out)
        case .binary(let bytes):
            appendHeader(count: bytes.count, small: nil, formats: (0xC4, 0xC5, 0xC6), to: &out)
            out.append(contentsOf: bytes)
        case .array(let elements):
            appendArrayHeader(count: elements.count, to: &out)
            for element in elements { append(element, to: &out) }
        case .object(let members):
            appendHeader(count: members.count, small: 0x80, formats: (nil, 0xDE, 0xDF), to: &out)
            for member in members {
                appendString(member.key, to: &out)
                append(member.value, to: &out)
            }
        }
    }

    /// The header of an array of `count` elements (the elements follow).
    static func appendArrayHeader(count: Int, to out: inout [UInt8]) {
        appendHeader(count: count, small: 0x90, formats: (nil, 0xDC, 0xDD), to: &out)
    }

    static func appendString(_ string: String, to out: inout [UInt8]) {
        let utf8 = string.utf8
        appendHeader(count: utf8.count, small: 0xA0, formats: (0xD9, 0xDA, 0xDB), to: &out)
        out.append(contentsOf: utf8)
    }

    static func appendInteger(_ number: Int64, to out: inout [UInt8]) {
        if number >= 0 {
            let unsigned = UInt64(number)
            switch unsigned {
            case 0...0x7F: out.append(UInt8(unsigned))
            case 0x80...0xFF: out.append(0xCC); out.append(UInt8(unsigned))
            case 0x100...0xFFFF: out.append(0xCD); appendBigEndian(unsigned, width: 2, to: &out)
            case 0x1_0000...0xFFFF_FFFF: out.append(0xCE); appendBigEndian(unsigned, width: 4, to: &out)
            default: out.append(0xCF); appendBigEndian(unsigned, width: 8, to: &out)
            }
            return
        }
        let bits = UInt64(bitPattern: number)
        switch number {
        case -32...(-1): out.append(UInt8(truncatingIfNeeded: bits))
        case -0x80...(-33): out.append(0xD0); out.append(UInt8(truncatingIfNeeded: bits))
        case -0x8000...(-0x81): out.append(0xD1); appendBigEndian(bits, width: 2, to: &out)
        case -0x8000_0000...(-0x8001): out.append(0xD2); appendBigEndian(bits, width: 4, to: &out)
        default: out.append(0xD3); appendBigEndian(bits, width: 8, to: &out)
        }
    }

    /// A length or count: in the type byte when `small` is given and it is below 16 (32 for str), else in
    /// the 8-, 16- or 32-bit format (a nil 8-bit format skips to 16).
    private static func appendHeader(count: Int, small: UInt8?, formats: (UInt8?, UInt8, UInt8), to out: inout [UInt8]) {
        let fixLimit = small == 0xA0 ? 32 : 16
        if let small, count < fixLimit {
            out.append(small | UInt8(count))
        } else if let format8 = formats.0, count <= 0xFF {
            out.append(format8)
            out.append(UInt8(count))
        } else if count <= 0xFFFF {
            out.append(formats.1)
            appendBigEndian(UInt64(count), width: 2, to: &out)
        } else {
            out.append(formats.2)
            appendBigEndian(UInt64(truncatingIfNeeded: count), width: 4, to: &out)
        }
    }

    private static func appendBigEndian(_ number: UInt64, width: Int, to out: inout [UInt8]) {
        var shift = (width &- 1) &* 8
        while shift >= 0 {
            out.append(UInt8(truncatingIfNeeded: number >> UInt64(shift)))
            shift &-= 8
        }
    }
}
