/// Finds one whole HTTP/1.1 response at the start of a byte buffer: status, body and whether the server
/// will close the connection after it.
///
/// Pure and stateless, so the polling client can parse straight from its read buffer and simply try again
/// when more bytes arrive (Engine.IO responses are a few hundred bytes and nearly always arrive whole).
/// Bodies come with a `Content-Length` (quench) or chunked (python-engineio under Werkzeug or uvicorn);
/// length-less bodies are refused rather than guessed at, since the bench must not pass a server it misread.
enum HTTPResponseParser {
    /// The outcome of looking at the bytes received so far.
    enum Outcome {
        /// The response is not complete yet; read more and parse again from the start.
        case incomplete
        /// A whole response: `body` is where its body sits in the buffer, `length` how many bytes it used in all.
        case complete(status: Int, body: Range<Int>, length: Int, closesConnection: Bool)
        /// A whole chunked response: its body is the concatenation of `chunks` (ranges in the buffer, in order).
        case completeChunked(status: Int, chunks: [Range<Int>], length: Int, closesConnection: Bool)
        /// Not a response this client can use; the text says why.
        case invalid(String)
    }

    /// Header blocks larger than this are refused instead of waited for.
    static let maximumHeaderBytes = 16 * 1024

    static func parse(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        guard let headerEnd = endOfHeaders(in: bytes) else {
            return bytes.count > maximumHeaderBytes ? .invalid("response headers over \(maximumHeaderBytes) bytes") : .incomplete
        }
        // The status line: "HTTP/1.1 200 OK".
        var cursor = LineCursor(bytes: bytes, end: headerEnd)
        guard let statusLine = cursor.next() else { return .invalid("empty response") }
        guard let status = statusCode(bytes, statusLine) else {
            return .invalid("bad status line: \(text(bytes, statusLine))")
        }
        var contentLength: Int?
        var chunked = false
        var closes = false
        while let line = cursor.next() {
            guard let colon = bytes[line].firstIndex(of: UInt8(ascii: ":")) else {
                return .invalid("bad header line: \(text(bytes, line))")
            }
            let name = line.lowerBound..<colon
            let value = trimmed(bytes, (colon + 1)..<line.upperBound)
            if equalsIgnoringCase(bytes, name, "content-length") {
                guard let length = decimal(bytes, value) else { return .invalid("bad Content-Length: \(text(bytes, value))") }
                contentLength = length
            } else if equalsIgnoringCase(bytes, name, "transfer-encoding") {
                guard equalsIgnoringCase(bytes, value, "chunked") else {
                    return .invalid("Transfer-Encoding \(text(bytes, value)) is not supported")
                }
                chunked = true
            } else if equalsIgnoringCase(bytes, name, "connection") {
                closes = equalsIgnoringCase(bytes, value, "close")
            }
        }
        let bodyStart = headerEnd + 4
        if chunked {
            return chunks(bytes, from: bodyStart, status: status, closes: closes)
        }
        guard let contentLength else { return .invalid("HTTP \(status) response without Content-Length") }
        guard bytes.count - bodyStart >= contentLength else { return .incomplete }
        let end = bodyStart + contentLength
        return .complete(status: status, body: bodyStart..<end, length: end, closesConnection: closes)
    }

    /// The chunks of a chunked body starting at `start`: `<hex size>[;ext]\r\n<data>\r\n` … `0\r\n\r\n`.
    /// Trailer fields after the last chunk are refused (Engine.IO servers send none).
    private static func chunks(_ bytes: UnsafeRawBufferPointer, from start: Int, status: Int, closes: Bool) -> Outcome {
        var found: [Range<Int>] = []
        var position = start
        while true {
            guard let lineEnd = endOfLine(in: bytes, from: position) else { return .incomplete }
            var sizeEnd = position
            while sizeEnd < lineEnd, bytes[sizeEnd] != UInt8(ascii: ";") { sizeEnd += 1 }
            guard let size = hexadecimal(bytes, trimmed(bytes, position..<sizeEnd)) else {
                return .invalid("bad chunk size: \(text(bytes, position..<lineEnd))")
            }
            let dataStart = lineEnd + 2
            if size == 0 {
                guard bytes.count >= dataStart + 2 else { return .incomplete }
                guard bytes[dataStart] == UInt8(ascii: "\r"), bytes[dataStart + 1] == UInt8(ascii: "\n") else {
                    return .invalid("trailer fields after the last chunk are not supported")
                }
                return .completeChunked(status: status, chunks: found, length: dataStart + 2, closesConnection: closes)
            }
            guard bytes.count >= dataStart + size + 2 else { return .incomplete }
            guard bytes[dataStart + size] == UInt8(ascii: "\r"), bytes[dataStart + size + 1] == UInt8(ascii: "\n") else {
                return .invalid("chunk of \(size) bytes not followed by CRLF")
            }
            found.append(dataStart..<(dataStart + size))
            position = dataStart + size + 2
        }
    }

    /// The offset of the next `\r\n` at or after `start`, if it has arrived.
    private static func endOfLine(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == UInt8(ascii: "\r"), bytes[index + 1] == UInt8(ascii: "\n") { return index }
            index += 1
        }
        return nil
    }

    /// A non-empty run of hex digits as an Int (at most 15 digits, so it cannot overflow).
    private static func hexadecimal(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
        guard !range.isEmpty, range.count <= 15 else { return nil }
        var value = 0
        for index in range {
            let byte = bytes[index] | 0x20  // ASCII letters to lowercase; digits are unchanged
            let digit: UInt8
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                digit = byte - UInt8(ascii: "0")
            } else if byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f") {
                digit = byte - UInt8(ascii: "a") + 10
            } else {
                return nil
            }
            value = value * 16 + Int(digit)
        }
        return value
    }

    /// Where the blank line after the headers begins (the offset of its `\r\n\r\n`), if it has arrived.
    private static func endOfHeaders(in bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var index = 0
        while index + 3 < bytes.count {
            if bytes[index + 3] != UInt8(ascii: "\n") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "\r"), bytes[index + 1] == UInt8(ascii: "\n"), bytes[index + 2] == UInt8(ascii: "\r") {
                return index
            } else {
                index += 1
            }
        }
        return nil
    }

    /// "HTTP/1.x NNN[ reason]" → NNN.
    private static func statusCode(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) -> Int? {
        let prefix = Array("HTTP/1.".utf8)
        guard line.count >= prefix.count + 5, bytes[line].starts(with: prefix) else { return nil }
        let codeStart = line.lowerBound + prefix.count + 2
        guard bytes[codeStart - 1] == UInt8(ascii: " ") else { return nil }
        let codeEnd = codeStart + 3
        guard codeEnd == line.upperBound || bytes[codeEnd] == UInt8(ascii: " ") else { return nil }
        return decimal(bytes, codeStart..<codeEnd)
    }

    /// A non-empty run of ASCII digits as an Int (at most 18 digits, so it cannot overflow).
    private static func decimal(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
        guard !range.isEmpty, range.count <= 18 else { return nil }
        var value = 0
        for index in range {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int(digit)
        }
        return value
    }

    private static func trimmed(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Range<Int> {
        var lower = range.lowerBound
        var upper = range.upperBound
        while lower < upper, bytes[lower] == UInt8(ascii: " ") || bytes[lower] == UInt8(ascii: "\t") { lower += 1 }
        while upper > lower, bytes[upper - 1] == UInt8(ascii: " ") || bytes[upper - 1] == UInt8(ascii: "\t") { upper -= 1 }
        return lower..<upper
    }

    /// Header names and tokens compare case-insensitively (RFC 9110); `lowercase` must be lowercase ASCII.
    private static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercase: StaticString) -> Bool {
        guard range.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        for (offset, index) in range.enumerated() {
            var byte = bytes[index]
            if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { byte += 32 }
            if byte != expected[offset] { return false }
        }
        return true
    }

    private static func text(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: bytes[range].prefix(120), as: UTF8.self)
    }

    /// Walks the CRLF-separated lines of a header block.
    private struct LineCursor {
        let bytes: UnsafeRawBufferPointer
        /// Offset of the blank line's `\r\n\r\n`: the last header line ends there.
        let end: Int
        var position = 0

        init(bytes: UnsafeRawBufferPointer, end: Int) {
            self.bytes = bytes
            self.end = end
        }

        mutating func next() -> Range<Int>? {
            guard position <= end else { return nil }
            var index = position
            while index < end, !(bytes[index] == UInt8(ascii: "\r") && bytes[index + 1] == UInt8(ascii: "\n")) { index += 1 }
            let line = position..<index
            position = index + 2
            return line
        }
    }
}
