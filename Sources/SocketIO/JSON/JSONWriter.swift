/// Serializes ``JSONValue`` as compact JSON (no whitespace), appending UTF-8 bytes to a buffer.
///
/// Strings: `"` and `\` are escaped, control characters below 0x20 become `\n \r \t \b \f` or `\u00xx`;
/// `/` and non-ASCII are written as is (raw UTF-8). Integers are written exactly. Doubles use Swift's
/// shortest round-trip text (`1.5`, `1e+300`, `5e-324`, `-0.0`); non-finite doubles are written as `null`, as
/// JavaScript's `JSON.stringify` does. `.binary` is not JSON and is written as `null`; the packet encoder
/// replaces attachments with placeholders before they reach the writer.
public enum JSONWriter {
    /// Appends the JSON text of `value` to `out`.
    /// - Parameters:
    ///   - value: The value; `.binary` anywhere inside is written as `null`.
    ///   - out: The buffer to append to.
    public static func append(_ value: JSONValue, to out: inout [UInt8]) {
        var sink = BinarySink.writeNull
        append(value, to: &out, binary: &sink)
    }

    /// Appends `string` quoted and escaped.
    /// - Parameters:
    ///   - string: The text to write as a JSON string.
    ///   - out: The buffer to append to.
    public static func appendString(_ string: some StringProtocol, to out: inout [UInt8]) {
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { appendString(utf8: $0, to: &out) }
        if done == nil {
            var copy = String(string)
            copy.withUTF8 { appendString(utf8: $0, to: &out) }
        }
    }

    /// Returns the JSON text of `value` as bytes.
    public static func encode(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        append(value, to: &out)
        return out
    }

    /// What to do with `.binary` values met while writing.
    enum BinarySink {
        /// Write `null`.
        case writeNull
        /// Write `{"_placeholder":true,"num":N}` and collect the bytes as attachment N.
        case collect([[UInt8]])
    }

    /// Appends `value`, handling `.binary` as `binary` says.
    static func append(_ value: JSONValue, to out: inout [UInt8], binary: inout BinarySink) {
        switch value {
        case .null:
            appendASCII("null", to: &out)
        case .bool(let flag):
            appendASCII(flag ? "true" : "false", to: &out)
        case .int(let number):
            appendInteger(number, to: &out)
        case .double(let number):
            appendDouble(number, to: &out)
        case .string(let string):
            appendString(string, to: &out)
        case .array(let elements):
            out.append(JSONByte.openBracket)
            var first = true
            for element in elements {
                if !first { out.append(JSONByte.comma) }
                first = false
                append(element, to: &out, binary: &binary)
            }
            out.append(JSONByte.closeBracket)
        case .object(let members):
            out.append(JSONByte.openBrace)
            var first = true
            for member in members {
                if !first { out.append(JSONByte.comma) }
                first = false
                appendString(member.key, to: &out)
                out.append(JSONByte.colon)
                append(member.value, to: &out, binary: &binary)
            }
            out.append(JSONByte.closeBrace)
        case .binary(let bytes):
            switch binary {
            case .writeNull:
                appendASCII("null", to: &out)
            case .collect(var attachments):
                appendASCII("{\"_placeholder\":true,\"num\":", to: &out)
                appendInteger(Int64(attachments.count), to: &out)
                out.append(JSONByte.closeBrace)
                binary = .writeNull  // release the array so the append below does not copy it
                attachments.append(bytes)
                binary = .collect(attachments)
            }
        }
    }

    private static func appendASCII(_ text: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends the decimal digits of `number`.
    static func appendInteger(_ number: Int64, to out: inout [UInt8]) {
        if number < 0 { out.append(JSONByte.minus) }
        var magnitude = number.magnitude
        if magnitude < 10 {
            out.append(JSONByte.zero &+ UInt8(magnitude))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var position = 20
            while magnitude > 0 {
                position -= 1
                digits[position] = JSONByte.zero &+ UInt8(magnitude % 10)
                magnitude /= 10
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[position..<20]))
        }
    }

    private static func appendDouble(_ number: Double, to out: inout [UInt8]) {
        guard number.isFinite else {
            appendASCII("null", to: &out)
            return
        }
        // Swift's description is the shortest text that round-trips, and for finite values it is valid
        // JSON: "1.5", "100.0", "1e+300", "5e-324", "-0.0".
        var text = number.description
        text.withUTF8 { out.append(contentsOf: $0) }
    }

    /// Appends `utf8` (valid UTF-8) as a quoted, escaped JSON string.
    static func appendString(utf8: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.reserveCapacity(out.count + utf8.count + 2)
        out.append(JSONByte.quote)
        var runStart = 0
        var index = 0
        while true {
            index = JSONStringScan.firstSpecial(in: utf8, from: index)
            guard index < utf8.count else { break }
            let byte = utf8[index]
            if runStart < index {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            }
            out.append(JSONByte.backslash)
            switch byte {
            case JSONByte.quote: out.append(JSONByte.quote)
            case JSONByte.backslash: out.append(JSONByte.backslash)
            case JSONByte.newline: out.append(JSONByte.lowerN)
            case JSONByte.carriageReturn: out.append(JSONByte.lowerR)
            case JSONByte.tab: out.append(JSONByte.lowerT)
            case 0x08: out.append(JSONByte.lowerB)
            case 0x0C: out.append(JSONByte.lowerF)
            default:
                let hex: StaticString = "0123456789abcdef"
                out.append(JSONByte.lowerU)
                out.append(JSONByte.zero)
                out.append(JSONByte.zero)
                out.append(hex.utf8Start[Int(byte >> 4)])
                out.append(hex.utf8Start[Int(byte & 0xF)])
            }
            index += 1
            runStart = index
        }
        if runStart < utf8.count {
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
        }
        out.append(JSONByte.quote)
    }
}
