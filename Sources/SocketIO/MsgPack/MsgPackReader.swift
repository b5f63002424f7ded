/// Reads one MessagePack value (https://github.com/msgpack/msgpack/blob/master/spec.md) into a ``JSONValue``.
///
/// The values Socket.IO's msgpack parsers exchange are JSON's plus bin, so the reader maps nil, bool, the
/// int formats, float 32/64, str, bin, array and map onto ``JSONValue`` (bin as `.binary`, an unsigned int
/// beyond `Int64` as `.double`, as the JSON parser does) and refuses the rest: ext types (timestamps) and
/// the unused byte 0xC1, map keys that are not str, and str bytes that are not UTF-8. One ext is read:
/// `d4 00 00`, notepack.io's JavaScript `undefined` (socket.io-msgpack-parser's client writes its CONNECT
/// as `{type, nsp, data: undefined}`), read as nil, which a packet's `data` takes as absent.
///
/// Bounded like ``JSONParser``: nesting at most ``maxDepth`` levels, and every length or count is checked
/// against the bytes left before anything is allocated for it (an element takes at least one byte), so a
/// message of n bytes never makes the reader reserve room for more than n elements or n bytes of strings.
public enum MsgPackReader {
    /// The deepest array/map nesting accepted (``JSONParser/maxDepth``, so both parsers refuse alike).
    public static let maxDepth = JSONParser.maxDepth

    /// Reads exactly one value; bytes after it are an error.
    public static func read(_ bytes: [UInt8]) throws(MsgPackError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { (buffer) throws(MsgPackError) in try read(buffer) }
    }

    /// Reads exactly one value from memory the caller keeps alive for the call.
    public static func read(_ bytes: UnsafeBufferPointer<UInt8>) throws(MsgPackError) -> JSONValue {
        var cursor = MsgPackCursor(bytes: bytes)
        let value = try cursor.value(depth: 0)
        guard cursor.index == bytes.count else { throw MsgPackError(.trailingBytes, at: cursor.index) }
        return value
    }
}

/// The position in one message while it is read.
private struct MsgPackCursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    var remaining: Int { bytes.count &- index }

    mutating func value(depth: Int) throws(MsgPackError) -> JSONValue {
        let start = index
        let byte = try next()
        switch byte {
        case 0x00...0x7F: return .int(Int64(byte))
        case 0x80...0x8F: return try map(count: Int(byte & 0x0F), depth: depth, at: start)
        case 0x90...0x9F: return try array(count: Int(byte & 0x0F), depth: depth, at: start)
        case 0xA0...0xBF: return try string(length: Int(byte & 0x1F))
        case 0xC0: return .null
        case 0xC2: return .bool(false)
        case 0xC3: return .bool(true)
        case 0xC4: return .binary(try take(Int(try unsigned(1))))
        case 0xC5: return .binary(try take(Int(try unsigned(2))))
        case 0xC6: return .binary(try take(Int(try unsigned(4))))
        case 0xCA: return .double(Double(Float(bitPattern: UInt32(try unsigned(4)))))
        case 0xCB: return .double(Double(bitPattern: try unsigned(8)))
        case 0xCC: return .int(Int64(try unsigned(1)))
        case 0xCD: return .int(Int64(try unsigned(2)))
        case 0xCE: return .int(Int64(try unsigned(4)))
        case 0xCF:
            let number = try unsigned(8)
            return number <= UInt64(Int64.max) ? .int(Int64(number)) : .double(Double(number))
        case 0xD0: return .int(Int64(Int8(truncatingIfNeeded: try unsigned(1))))
        case 0xD1: return .int(Int64(Int16(truncatingIfNeeded: try unsigned(2))))
        case 0xD2: return .int(Int64(Int32(truncatingIfNeeded: try unsigned(4))))
        case 0xD3: return .int(Int64(bitPattern: try unsigned(8)))
        case 0xD9: return try string(length: Int(try unsigned(1)))
        case 0xDA: return try string(length: Int(try unsigned(2)))
        case 0xDB: return try string(length: Int(try unsigned(4)))
        case 0xDC: return try array(count: Int(try unsigned(2)), depth: depth, at: start)
        case 0xDD: return try array(count: Int(try unsigned(4)), depth: depth, at: start)
        case 0xDE: return try map(count: Int(try unsigned(2)), depth: depth, at: start)
        case 0xDF: return try map(count: Int(try unsigned(4)), depth: depth, at: start)
        case 0xE0...0xFF: return .int(Int64(Int8(bitPattern: byte)))
        case 0xD4 where remaining >= 2 && bytes[index] == 0 && bytes[index &+ 1] == 0:
            index &+= 2
            return .null
        default:  // 0xC1 (never used), 0xC7–0xC9 and 0xD4–0xD8 (ext)
            throw MsgPackError(.unsupportedType, at: start, byte: byte)
        }
    }

    private mutating func next() throws(MsgPackError) -> UInt8 {
        guard index < bytes.count else { throw MsgPackError(.unexpectedEnd, at: index) }
        defer { index &+= 1 }
        return bytes[index]
    }

    /// A big-endian unsigned integer of `width` bytes.
    private mutating func unsigned(_ width: Int) throws(MsgPackError) -> UInt64 {
        guard remaining >= width else { throw MsgPackError(.unexpectedEnd, at: bytes.count) }
        var number: UInt64 = 0
        for offset in 0..<width { number = number << 8 | UInt64(bytes[index &+ offset]) }
        index &+= width
        return number
    }

    private mutating func take(_ length: Int) throws(MsgPackError) -> [UInt8] {
        guard remaining >= length else { throw MsgPackError(.unexpectedEnd, at: bytes.count) }
        defer { index &+= length }
        return Array(UnsafeBufferPointer(rebasing: bytes[index..<index &+ length]))
    }

    private mutating func string(length: Int) throws(MsgPackError) -> JSONValue {
        guard remaining >= length else { throw MsgPackError(.unexpectedEnd, at: bytes.count) }
        let utf8 = UnsafeBufferPointer(rebasing: bytes[index..<index &+ length])
        if let bad = JSONUTF8.firstInvalidOffset(utf8) { throw MsgPackError(.invalidUTF8, at: index &+ bad) }
        index &+= length
        return .string(String(decoding: utf8, as: UTF8.self))
    }

    private mutating func array(count: Int, depth: Int, at start: Int) throws(MsgPackError) -> JSONValue {
        guard depth < MsgPackReader.maxDepth else { throw MsgPackError(.nestingTooDeep, at: start) }
        // Each element takes at least one byte: a count past the bytes left is refused before reserving.
        guard count <= remaining else { throw MsgPackError(.unexpectedEnd, at: bytes.count) }
        var elements: [JSONValue] = []
        elements.reserveCapacity(count)
        for _ in 0..<count { elements.append(try value(depth: depth &+ 1)) }
        return .array(elements)
    }

    private mutating func map(count: Int, depth: Int, at start: Int) throws(MsgPackError) -> JSONValue {
        guard depth < MsgPackReader.maxDepth else { throw MsgPackError(.nestingTooDeep, at: start) }
        guard count <= remaining / 2 else { throw MsgPackError(.unexpectedEnd, at: bytes.count) }
        var members: [JSONMember] = []
        members.reserveCapacity(count)
        for _ in 0..<count {
            let keyStart = index
            guard case .string(let key) = try value(depth: depth &+ 1) else {
                throw MsgPackError(.nonStringKey, at: keyStart, byte: bytes[keyStart])
            }
            members.append(JSONMember(key, try value(depth: depth &+ 1)))
        }
        return .object(members)
    }
}
