/// Parses RFC 8259 JSON from UTF-8 bytes into ``JSONValue``.
///
/// Strict: no comments, trailing commas, NaN/Infinity, leading zeros or BOM; raw bytes in strings must be
/// well-formed UTF-8; unescaped control characters in strings are rejected. Escaped surrogate pairs
/// (`\uD83D\uDE00`) combine into one scalar; a *lone* escaped surrogate becomes U+FFFD (JavaScript clients
/// can legitimately send one, and rejecting it would drop the whole packet). Nesting is limited to
/// ``maxDepth`` so hostile input throws instead of overflowing the stack.
///
/// Numbers without fraction or exponent that fit `Int64` become `.int`; all others `.double`. `-0` becomes
/// `.double(-0.0)` so the sign survives. Numbers beyond `Double`'s range become infinity, as in JavaScript.
public enum JSONParser {
    /// The deepest array/object nesting accepted; one more level throws ``JSONError/Code/nestingTooDeep``.
    public static let maxDepth = 128

    /// Parses exactly one JSON text (surrounding whitespace allowed); anything after it is an error.
    /// - Parameter bytes: UTF-8 bytes. Contiguous collections (`[UInt8]`, `ArraySlice`, `String.UTF8View` of a
    ///   native string…) are parsed in place; others are copied first.
    /// - Returns: The value. Error offsets count from the collection's first byte.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONError) -> JSONValue {
        try withBuffer(bytes) { (buffer) throws(JSONError) in
            try parse(buffer: buffer, from: 0)
        }
    }

    /// Parses exactly one JSON text; the fast entry point for arrays.
    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { (buffer) throws(JSONError) in try parse(buffer: buffer, from: 0) }
    }

    /// Parses exactly one JSON text; error offsets count from the slice's first byte.
    public static func parse(_ bytes: ArraySlice<UInt8>) throws(JSONError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { (buffer) throws(JSONError) in try parse(buffer: buffer, from: 0) }
    }

    /// Parses exactly one JSON text from memory the caller keeps alive for the call.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONError) -> JSONValue {
        try parse(buffer: bytes, from: 0)
    }

    /// Parses one JSON value (leading whitespace allowed) starting at `start`.
    /// - Parameters:
    ///   - bytes: UTF-8 bytes.
    ///   - start: Offset of the first byte to look at.
    /// - Returns: The value and the offset just past its last byte (trailing whitespace is not consumed).
    public static func parsePrefix(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) throws(JSONError) -> (JSONValue, Int) {
        precondition(start >= 0 && start <= bytes.count, "start out of range")
        var parser = JSONByteParser(bytes: bytes, index: start)
        let value = try parser.parseValue()
        return (value, parser.index)
    }

    /// Parses one JSON value (leading whitespace allowed) starting at array offset `start`.
    /// - Parameters:
    ///   - bytes: UTF-8 bytes.
    ///   - start: Offset (from `bytes.startIndex`) of the first byte to look at.
    /// - Returns: The value and the offset (from `bytes.startIndex`) just past its last byte.
    public static func parsePrefix(_ bytes: ArraySlice<UInt8>, from start: Int) throws(JSONError) -> (JSONValue, Int) {
        try bytes.withUnsafeBufferPointer { (buffer) throws(JSONError) in try parsePrefix(buffer, from: start) }
    }

    /// Parses `bytes[start...]` as exactly one JSON text (surrounding whitespace allowed).
    static func parse(buffer: UnsafeBufferPointer<UInt8>, from start: Int) throws(JSONError) -> JSONValue {
        var parser = JSONByteParser(bytes: buffer, index: start)
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.index != buffer.count {
            throw JSONError(.trailingCharacters, at: parser.index, byte: buffer[parser.index])
        }
        return value
    }

    /// Runs `body` over contiguous storage for `bytes`, copying only when the collection has none.
    static func withBuffer<T, E: Error>(
        _ bytes: some Collection<UInt8>,
        _ body: (UnsafeBufferPointer<UInt8>) throws(E) -> T
    ) throws(E) -> T {
        let direct = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(E) in try body(buffer) }
        }
        if let direct {
            return try direct.get()
        }
        let copy = Array(bytes)
        let copied = copy.withUnsafeBufferPointer { buffer in
            Result { () throws(E) in try body(buffer) }
        }
        return try copied.get()
    }
}

/// The recursive-descent parser over one buffer. One per parse call, on the caller's stack.
struct JSONByteParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int
    var depth = 0

    init(bytes: UnsafeBufferPointer<UInt8>, index: Int) {
        self.bytes = bytes
        self.index = index
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case JSONByte.space, JSONByte.newline, JSONByte.carriageReturn, JSONByte.tab: index += 1
            default: return
            }
        }
    }

    private func unexpected(at offset: Int) -> JSONError {
        offset < bytes.count ? JSONError(.unexpectedCharacter, at: offset, byte: bytes[offset]) : JSONError(.unexpectedEnd, at: offset)
    }

    mutating func parseValue() throws(JSONError) -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else { throw JSONError(.unexpectedEnd, at: index) }
        switch bytes[index] {
        case JSONByte.quote:
            return .string(try parseString())
        case JSONByte.openBracket:
            return try parseArray()
        case JSONByte.openBrace:
            return try parseObject()
        case JSONByte.minus, JSONByte.zero ... JSONByte.nine:
            return try parseNumber()
        case JSONByte.lowerT:
            try expectLiteral(JSONByte.trueLiteral)
            return .bool(true)
        case JSONByte.lowerF:
            try expectLiteral(JSONByte.falseLiteral)
            return .bool(false)
        case JSONByte.lowerN:
            try expectLiteral(JSONByte.nullLiteral)
            return .null
        default:
            throw unexpected(at: index)
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        let start = literal.utf8Start
        for offset in 0..<count {
            guard index < bytes.count, bytes[index] == start[offset] else { throw unexpected(at: index) }
            index += 1
        }
    }

    private mutating func enterContainer() throws(JSONError) {
        depth += 1
        if depth > JSONParser.maxDepth {
            throw JSONError(.nestingTooDeep, at: index)
        }
    }

    private mutating func parseArray() throws(JSONError) -> JSONValue {
        try enterContainer()
        index += 1  // '['
        skipWhitespace()
        if index < bytes.count && bytes[index] == JSONByte.closeBracket {
            index += 1
            depth -= 1
            return .array([])
        }
        // Most arrays on the wire are short (an event name and its arguments): one allocation covers them.
        var elements: [JSONValue] = []
        elements.reserveCapacity(4)
        while true {
            let element = try parseValue()
            elements.append(element)
            skipWhitespace()
            guard index < bytes.count else { throw JSONError(.unexpectedEnd, at: index) }
            let byte = bytes[index]
            index += 1
            if byte == JSONByte.comma { continue }
            if byte == JSONByte.closeBracket { break }
            throw JSONError(.unexpectedCharacter, at: index - 1, byte: byte)
        }
        depth -= 1
        return .array(elements)
    }

    private mutating func parseObject() throws(JSONError) -> JSONValue {
        try enterContainer()
        index += 1  // '{'
        skipWhitespace()
        if index < bytes.count && bytes[index] == JSONByte.closeBrace {
            index += 1
            depth -= 1
            return .object([])
        }
        var members: [JSONMember] = []
        members.reserveCapacity(2)
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == JSONByte.quote else { throw unexpected(at: index) }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == JSONByte.colon else { throw unexpected(at: index) }
            index += 1
            let value = try parseValue()
            members.append(JSONMember(key, value))
            skipWhitespace()
            guard index < bytes.count else { throw JSONError(.unexpectedEnd, at: index) }
            let byte = bytes[index]
            index += 1
            if byte == JSONByte.comma { continue }
            if byte == JSONByte.closeBrace { break }
            throw JSONError(.unexpectedCharacter, at: index - 1, byte: byte)
        }
        depth -= 1
        return .object(members)
    }

    // MARK: Strings

    /// Parses a string whose opening quote is at `index`; leaves `index` just past the closing quote.
    mutating func parseString() throws(JSONError) -> String {
        index += 1  // '"'
        let start = index
        index = JSONStringScan.firstSpecial(in: bytes, from: index)
        guard index < bytes.count else { throw JSONError(.unexpectedEnd, at: index) }
        let byte = bytes[index]
        if byte == JSONByte.backslash {
            return try parseEscapedString(start: start)
        }
        if byte < 0x20 {
            throw JSONError(.controlCharacterInString, at: index, byte: byte)
        }
        let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
        index += 1  // the closing quote
        if JSONStringScan.hasNonASCII(slice), let bad = JSONUTF8.firstInvalidOffset(slice) {
            throw JSONError(.invalidUTF8, at: start + bad, byte: slice[bad])
        }
        return String(decoding: slice, as: UTF8.self)
    }

    /// The slow path: the string at `start` has escapes; `index` is at the first backslash.
    private mutating func parseEscapedString(start: Int) throws(JSONError) -> String {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(index - start + 16)
        buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
        var union: UInt8 = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == JSONByte.quote {
                index += 1
                if union >= 0x80 {
                    // Escapes decode to valid UTF-8, so any fault is in the raw bytes of the source.
                    let source = UnsafeBufferPointer(rebasing: bytes[start..<(index - 1)])
                    if let bad = JSONUTF8.firstInvalidOffset(source) {
                        throw JSONError(.invalidUTF8, at: start + bad, byte: source[bad])
                    }
                }
                return String(decoding: buffer, as: UTF8.self)
            }
            if byte == JSONByte.backslash {
                try appendEscape(to: &buffer, union: &union)
                continue
            }
            if byte < 0x20 {
                throw JSONError(.controlCharacterInString, at: index, byte: byte)
            }
            union |= byte
            buffer.append(byte)
            index += 1
        }
        throw JSONError(.unexpectedEnd, at: index)
    }

    /// Decodes the escape at `index` (a backslash) into `buffer`.
    private mutating func appendEscape(to buffer: inout [UInt8], union: inout UInt8) throws(JSONError) {
        let escapeStart = index
        index += 1
        guard index < bytes.count else { throw JSONError(.unexpectedEnd, at: index) }
        let byte = bytes[index]
        index += 1
        switch byte {
        case JSONByte.quote: buffer.append(JSONByte.quote)
        case JSONByte.backslash: buffer.append(JSONByte.backslash)
        case JSONByte.slash: buffer.append(JSONByte.slash)
        case JSONByte.lowerB: buffer.append(0x08)
        case JSONByte.lowerF: buffer.append(0x0C)
        case JSONByte.lowerN: buffer.append(JSONByte.newline)
        case JSONByte.lowerR: buffer.append(JSONByte.carriageReturn)
        case JSONByte.lowerT: buffer.append(JSONByte.tab)
        case JSONByte.lowerU:
            let unit = try readHex4()
            var scalar: UInt32
            if unit & 0xFC00 == 0xD800 {
                // High surrogate: combine with a following \uDC00–\uDFFF, else U+FFFD.
                scalar = 0xFFFD
                if index + 6 <= bytes.count && bytes[index] == JSONByte.backslash && bytes[index + 1] == JSONByte.lowerU {
                    let save = index
                    index += 2
                    let low = try readHex4()
                    if low & 0xFC00 == 0xDC00 {
                        scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                    } else {
                        index = save
                    }
                }
            } else if unit & 0xFC00 == 0xDC00 {
                scalar = 0xFFFD
            } else {
                scalar = UInt32(unit)
            }
            if scalar >= 0x80 { union |= 0x80 }
            Self.appendUTF8(scalar, to: &buffer)
        default:
            throw JSONError(.invalidEscape, at: escapeStart, byte: byte)
        }
    }

    private mutating func readHex4() throws(JSONError) -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard index < bytes.count else { throw JSONError(.unexpectedEnd, at: index) }
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case JSONByte.zero ... JSONByte.nine: digit = byte &- JSONByte.zero
            case UInt8(ascii: "a") ... UInt8(ascii: "f"): digit = byte &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A") ... UInt8(ascii: "F"): digit = byte &- UInt8(ascii: "A") &+ 10
            default: throw JSONError(.invalidEscape, at: index, byte: byte)
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    private static func appendUTF8(_ scalar: UInt32, to buffer: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            buffer.append(UInt8(scalar))
        case 0x80..<0x800:
            buffer.append(UInt8(0xC0 | scalar >> 6))
            buffer.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            buffer.append(UInt8(0xE0 | scalar >> 12))
            buffer.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            buffer.append(UInt8(0x80 | scalar & 0x3F))
        default:
            buffer.append(UInt8(0xF0 | scalar >> 18))
            buffer.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            buffer.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            buffer.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    // MARK: Numbers

    private mutating func parseNumber() throws(JSONError) -> JSONValue {
        let start = index
        var negative = false
        if bytes[index] == JSONByte.minus {
            negative = true
            index += 1
        }
        guard index < bytes.count else { throw JSONError(.unexpectedEnd, at: index) }
        var mantissa: UInt64 = 0
        var overflow = false
        let first = bytes[index]
        if first == JSONByte.zero {
            index += 1
            if index < bytes.count, JSONByte.isDigit(bytes[index]) {
                throw JSONError(.invalidNumber, at: index, byte: bytes[index])
            }
        } else if JSONByte.isDigit(first) {
            while index < bytes.count, JSONByte.isDigit(bytes[index]) {
                accumulate(bytes[index], into: &mantissa, overflow: &overflow)
                index += 1
            }
        } else {
            throw JSONError(.invalidNumber, at: index, byte: first)
        }
        var isInteger = true
        var exponent = 0
        if index < bytes.count, bytes[index] == JSONByte.period {
            isInteger = false
            index += 1
            let fractionStart = index
            while index < bytes.count, JSONByte.isDigit(bytes[index]) {
                accumulate(bytes[index], into: &mantissa, overflow: &overflow)
                exponent -= 1
                index += 1
            }
            if index == fractionStart { throw missingDigit() }
        }
        if index < bytes.count, bytes[index] == JSONByte.lowerE || bytes[index] == JSONByte.upperE {
            isInteger = false
            index += 1
            var exponentNegative = false
            if index < bytes.count, bytes[index] == JSONByte.plus || bytes[index] == JSONByte.minus {
                exponentNegative = bytes[index] == JSONByte.minus
                index += 1
            }
            let digitsStart = index
            var value = 0
            while index < bytes.count, JSONByte.isDigit(bytes[index]) {
                if value < 100_000 { value = value * 10 + Int(bytes[index] &- JSONByte.zero) }
                index += 1
            }
            if index == digitsStart { throw missingDigit() }
            exponent += exponentNegative ? -value : value
        }

        if isInteger && !overflow {
            if !negative {
                if mantissa <= UInt64(Int64.max) { return .int(Int64(mantissa)) }
            } else if mantissa == 0 {
                return .double(-0.0)
            } else if mantissa <= UInt64(Int64.max) + 1 {
                return .int(Int64(bitPattern: 0 &- mantissa))
            }
        }
        // Exact fast path (Clinger): mantissa and 10^|exponent| both exact doubles, one rounding.
        if !overflow && mantissa <= 1 << 53 && exponent >= -22 && exponent <= 22 {
            var value = Double(mantissa)
            if exponent < 0 {
                value /= Self.powersOfTen[-exponent]
            } else {
                value *= Self.powersOfTen[exponent]
            }
            return .double(negative ? -value : value)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text) else { throw JSONError(.invalidNumber, at: start) }
        return .double(value)
    }

    private func missingDigit() -> JSONError {
        index < bytes.count ? JSONError(.invalidNumber, at: index, byte: bytes[index]) : JSONError(.unexpectedEnd, at: index)
    }

    private func accumulate(_ digit: UInt8, into mantissa: inout UInt64, overflow: inout Bool) {
        guard !overflow else { return }
        let (times10, o1) = mantissa.multipliedReportingOverflow(by: 10)
        let (sum, o2) = times10.addingReportingOverflow(UInt64(digit &- JSONByte.zero))
        if o1 || o2 {
            overflow = true
        } else {
            mantissa = sum
        }
    }

    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]
}

/// UTF-8 well-formedness (Unicode Table 3-7: no overlongs, no surrogates, nothing above U+10FFFF).
enum JSONUTF8 {
    /// The offset of the first byte of the first ill-formed sequence, or nil when all of `bytes` is valid.
    static func firstInvalidOffset(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var index = 0
        let count = bytes.count
        while index < count {
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            switch lead {
            case 0xC2...0xDF:
                guard index + 1 < count, isContinuation(bytes[index + 1]) else { return index }
                index += 2
            case 0xE0...0xEF:
                let low: UInt8 = lead == 0xE0 ? 0xA0 : 0x80
                let high: UInt8 = lead == 0xED ? 0x9F : 0xBF
                guard index + 2 < count, (low...high).contains(bytes[index + 1]), isContinuation(bytes[index + 2]) else {
                    return index
                }
                index += 3
            case 0xF0...0xF4:
                let low: UInt8 = lead == 0xF0 ? 0x90 : 0x80
                let high: UInt8 = lead == 0xF4 ? 0x8F : 0xBF
                guard index + 3 < count, (low...high).contains(bytes[index + 1]), isContinuation(bytes[index + 2]),
                    isContinuation(bytes[index + 3])
                else {
                    return index
                }
                index += 4
            default:
                return index
            }
        }
        return nil
    }

    private static func isContinuation(_ byte: UInt8) -> Bool { byte & 0xC0 == 0x80 }
}

/// ASCII bytes the JSON and packet codecs compare against.
enum JSONByte {
    static let tab = UInt8(ascii: "\t")
    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let space = UInt8(ascii: " ")
    static let quote = UInt8(ascii: "\"")
    static let plus = UInt8(ascii: "+")
    static let comma = UInt8(ascii: ",")
    static let minus = UInt8(ascii: "-")
    static let period = UInt8(ascii: ".")
    static let slash = UInt8(ascii: "/")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")
    static let colon = UInt8(ascii: ":")
    static let upperE = UInt8(ascii: "E")
    static let openBracket = UInt8(ascii: "[")
    static let backslash = UInt8(ascii: "\\")
    static let closeBracket = UInt8(ascii: "]")
    static let lowerB = UInt8(ascii: "b")
    static let lowerE = UInt8(ascii: "e")
    static let lowerF = UInt8(ascii: "f")
    static let lowerN = UInt8(ascii: "n")
    static let lowerR = UInt8(ascii: "r")
    static let lowerT = UInt8(ascii: "t")
    static let lowerU = UInt8(ascii: "u")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")

    static let trueLiteral: StaticString = "true"
    static let falseLiteral: StaticString = "false"
    static let nullLiteral: StaticString = "null"

    static func isDigit(_ byte: UInt8) -> Bool { byte &- zero < 10 }
}
