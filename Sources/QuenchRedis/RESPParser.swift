/// An incremental RESP2 reply parser: feed it whatever `recv` returned, take out complete replies.
///
/// Pure (no I/O), so tests give it replies split at every byte. Lengths are bounded so that a confused or
/// hostile peer cannot make it allocate without limit.
public struct RESPParser: Sendable {
    /// Largest bulk string accepted (Redis' own proto-max-bulk-len default is 512 MB; a queue message is
    /// far smaller).
    public let maxBulkLength: Int
    /// Largest array accepted.
    public let maxArrayCount: Int
    private var buffer: [UInt8] = []
    private var start = 0

    /// - Parameters:
    ///   - maxBulkLength: largest bulk string in bytes; default 64 MiB.
    ///   - maxArrayCount: largest array; default 1 048 576 elements.
    public init(maxBulkLength: Int = 64 << 20, maxArrayCount: Int = 1 << 20) {
        self.maxBulkLength = maxBulkLength
        self.maxArrayCount = maxArrayCount
    }

    /// Bytes received but not yet returned as replies.
    public var bufferedCount: Int { buffer.count - start }

    /// Adds received bytes.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0, start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete reply, or nil when more bytes are needed.
    public mutating func next() throws(RESPError) -> RESPValue? {
        var index = start
        guard let value = try parse(at: &index, depth: 0) else { return nil }
        start = index
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        return value
    }

    private func parse(at index: inout Int, depth: Int) throws(RESPError) -> RESPValue? {
        guard depth < 16 else { throw RESPError("replies nested deeper than 16") }
        guard index < buffer.count else { return nil }
        let kind = buffer[index]
        var cursor = index + 1
        guard let line = readLine(from: &cursor) else { return nil }
        let value: RESPValue
        switch kind {
        case UInt8(ascii: "+"):
            value = .simpleString(String(decoding: buffer[line], as: UTF8.self))
        case UInt8(ascii: "-"):
            value = .error(String(decoding: buffer[line], as: UTF8.self))
        case UInt8(ascii: ":"):
            value = .integer(try integer(line))
        case UInt8(ascii: "$"):
            let length = try integer(line)
            if length == -1 {
                value = .null
                break
            }
            guard length >= 0, length <= maxBulkLength else { throw RESPError("bulk string length \(length) out of range") }
            let end = cursor + Int(length)
            guard end + 2 <= buffer.count else { return nil }
            guard buffer[end] == 13, buffer[end + 1] == 10 else { throw RESPError("bulk string not followed by CRLF") }
            value = .bulkString(Array(buffer[cursor..<end]))
            cursor = end + 2
        case UInt8(ascii: "*"):
            let count = try integer(line)
            if count == -1 {
                value = .null
                break
            }
            guard count >= 0, count <= maxArrayCount else { throw RESPError("array length \(count) out of range") }
            var elements: [RESPValue] = []
            elements.reserveCapacity(Int(min(count, 64)))
            for _ in 0..<count {
                guard let element = try parse(at: &cursor, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            value = .array(elements)
        default:
            throw RESPError("unknown reply type byte \(kind)")
        }
        index = cursor
        return value
    }

    /// The range of the line starting at `cursor` (without CRLF), moving `cursor` past it; nil if incomplete.
    private func readLine(from cursor: inout Int) -> Range<Int>? {
        var i = cursor
        while i + 1 < buffer.count {
            if buffer[i] == 13, buffer[i + 1] == 10 {
                let line = cursor..<i
                cursor = i + 2
                return line
            }
            i += 1
        }
        return nil
    }

    private func integer(_ line: Range<Int>) throws(RESPError) -> Int64 {
        guard let value = Int64(String(decoding: buffer[line], as: UTF8.self)) else {
            throw RESPError("bad integer \"\(String(decoding: buffer[line].prefix(32), as: UTF8.self))\"")
        }
        return value
    }
}

/// The peer sent something that is not RESP2.
public struct RESPError: Error, CustomStringConvertible, Equatable {
    /// What was wrong.
    public let description: String
    init(_ description: String) { self.description = description }
}
