import EngineIO

/// An incremental RESP2 reply parser: feed it whatever `recv` returned, take out complete replies.
///
/// Pure (no I/O), so tests give it replies split at every byte. It remembers where it stopped (how far the
/// current line was searched for its CRLF, which arrays are half filled, how much of a bulk string is still
/// owed), so each received byte is looked at once however the reply is split: no rescanning from the start
/// of a reply on every read.
///
/// Bounded, so that a confused or hostile peer cannot make it hold more than about one largest reply:
/// a line (a type byte and its text up to CRLF) of at most ``maxLineLength`` bytes, a bulk string of at
/// most ``maxBulkLength``, an array of at most ``maxArrayCount`` elements, nesting at most ``maxDepth``, and
/// all bulk strings of one reply together at most ``maxReplyBytes``. Past any of them ``next()`` throws;
/// the connection is then dropped and made again.
public struct RESPParser: Sendable {
    /// Longest line (status, error, integer or length header), CRLF excluded. Redis' own lines are a few
    /// dozen bytes; error texts a few hundred.
    public let maxLineLength: Int
    /// Largest bulk string: a pub/sub message carries a whole Socket.IO packet (JSON, binaries in base64), which
    /// python-socketio does not bound, so several MB must pass. (Redis' own proto-max-bulk-len is 512 MB.)
    public let maxBulkLength: Int
    /// Largest array: the replies quench reads have two or three elements.
    public let maxArrayCount: Int
    /// Deepest nesting of arrays.
    public let maxDepth: Int
    /// Most bulk-string bytes in one reply: one largest message plus its channel name and kind.
    public let maxReplyBytes: Int

    /// An array being filled.
    private struct OpenArray: Sendable {
        var remaining: Int
        var elements: [RESPValue]
    }

    private var buffer: [UInt8] = []
    /// Where the unparsed bytes begin.
    private var start = 0
    /// How far past `start` the current line was already searched for its CR.
    private var scanned = 0
    /// The length of the bulk string whose body is awaited (its header line already taken); nil otherwise.
    private var bulkLength: Int?
    private var openArrays: [OpenArray] = []
    private var replyBytes = 0
    /// Bytes looked at while searching lines for their CRLF, in total (tests check each is looked at once).
    private(set) var lineBytesScanned = 0

    /// - Parameters:
    ///   - maxLineLength: longest line in bytes; default 64 KiB.
    ///   - maxBulkLength: largest bulk string in bytes; default 16 MiB.
    ///   - maxArrayCount: largest array; default 1024 elements.
    ///   - maxDepth: deepest nesting of arrays; default 8.
    ///   - maxReplyBytes: most bulk-string bytes in one reply; default `maxBulkLength` + 64 KiB.
    public init(
        maxLineLength: Int = 64 << 10, maxBulkLength: Int = 16 << 20, maxArrayCount: Int = 1024, maxDepth: Int = 8,
        maxReplyBytes: Int? = nil
    ) {
        self.maxLineLength = maxLineLength
        self.maxBulkLength = maxBulkLength
        self.maxArrayCount = maxArrayCount
        self.maxDepth = maxDepth
        self.maxReplyBytes = maxReplyBytes ?? maxBulkLength + (64 << 10)
    }

    /// Bytes received but not yet taken into a reply.
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
    /// - Throws: ``RESPError`` when the bytes are not RESP2 or pass a bound; the parser is unusable after.
    public mutating func next() throws(RESPError) -> RESPValue? {
        while true {
            let value: RESPValue
            if let length = bulkLength {
                guard buffer.count - start >= length + 2 else { return nil }
                guard buffer[start + length] == 13, buffer[start + length + 1] == 10 else {
                    throw RESPError("bulk string not followed by CRLF")
                }
                value = .bulkString(Array(buffer[start..<(start + length)]))
                start += length + 2
                bulkLength = nil
            } else {
                guard let line = try takeLine() else { return nil }
                guard let parsed = try header(kind: buffer[line.lowerBound - 1], line: line) else { continue }
                value = parsed
            }
            if let reply = close(with: value) {
                replyBytes = 0
                if start == buffer.count {
                    buffer.removeAll(keepingCapacity: buffer.count <= 64 << 10)
                    start = 0
                }
                return reply
            }
        }
    }

    /// The text of the line at `start` (after its type byte, without CRLF), moving `start` past it; nil if
    /// its CRLF has not arrived. Searches only the bytes that arrived since the last call.
    private mutating func takeLine() throws(RESPError) -> Range<Int>? {
        guard start < buffer.count else { return nil }
        if scanned == 0 {
            // The type byte is checked as soon as it arrives, not once a line has piled up behind it.
            switch buffer[start] {
            case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "$"), UInt8(ascii: "*"): break
            default: throw RESPError("unknown reply type byte \(buffer[start])")
            }
            scanned = 1
        }
        var index = start + scanned
        let end = buffer.count
        let first = index
        defer { lineBytesScanned &+= index - first }
        while index + 1 < end {
            if buffer[index] == 13 {
                guard buffer[index + 1] == 10 else { throw RESPError("CR not followed by LF in a line") }
                guard index - start - 1 <= maxLineLength else { throw lineTooLong() }
                let line = (start + 1)..<index
                start = index + 2
                scanned = 0
                return line
            }
            index += 1
        }
        scanned = index - start  // the last byte may be a CR whose LF is still to come: look at it again
        guard scanned - 1 <= maxLineLength else { throw lineTooLong() }
        return nil
    }

    private func lineTooLong() -> RESPError {
        RESPError("a line longer than \(maxLineLength) bytes without CRLF")
    }

    /// The value a header line stands for, or nil when its body follows (a bulk string's bytes, an
    /// array's elements).
    private mutating func header(kind: UInt8, line: Range<Int>) throws(RESPError) -> RESPValue? {
        switch kind {
        case UInt8(ascii: "+"):
            return .simpleString(String(decoding: buffer[line], as: UTF8.self))
        case UInt8(ascii: "-"):
            return .error(String(decoding: buffer[line], as: UTF8.self))
        case UInt8(ascii: ":"):
            return .integer(try integer(line))
        case UInt8(ascii: "$"):
            let length = try integer(line)
            if length == -1 { return .null }
            guard length >= 0, length <= maxBulkLength else {
                throw RESPError("bulk string of \(length) bytes (limit \(maxBulkLength))")
            }
            replyBytes += Int(length)
            guard replyBytes <= maxReplyBytes else {
                throw RESPError("reply of more than \(maxReplyBytes) bytes of strings")
            }
            bulkLength = Int(length)
            return nil
        case UInt8(ascii: "*"):
            let count = try integer(line)
            if count == -1 { return .null }
            guard count >= 0, count <= maxArrayCount else { throw RESPError("array of \(count) elements (limit \(maxArrayCount))") }
            if count == 0 { return .array([]) }
            guard openArrays.count < maxDepth else { throw RESPError("arrays nested deeper than \(maxDepth)") }
            openArrays.append(OpenArray(remaining: Int(count), elements: []))
            return nil
        default:
            throw RESPError("unknown reply type byte \(kind)")  // checked in takeLine already
        }
    }

    /// Puts `value` into the innermost open array (closing every array it completes); returns the reply
    /// when `value` completed it.
    private mutating func close(with value: RESPValue) -> RESPValue? {
        var value = value
        while var innermost = openArrays.popLast() {
            innermost.elements.append(value)
            innermost.remaining -= 1
            guard innermost.remaining == 0 else {
                openArrays.append(innermost)
                return nil
            }
            value = .array(innermost.elements)
        }
        return value
    }

    private func integer(_ line: Range<Int>) throws(RESPError) -> Int64 {
        guard line.count <= 20, let value = Int64(String(decoding: buffer[line], as: UTF8.self)) else {
            throw RESPError("bad integer \"\(LogSafe.bytes(buffer[line], limit: 32))\"")
        }
        return value
    }
}

/// The peer sent something that is not RESP2, or passed one of the parser's bounds.
public struct RESPError: Error, CustomStringConvertible, Equatable {
    /// What was wrong (peer text in it is escaped).
    public let description: String
    init(_ description: String) { self.description = description }
}
