/// Header lines of an HTTP/1.1 response written straight into the write buffer, as lws writes them
/// (`name: value\r\n`, the name lower-case), without a `String` built per line: every polling request's
/// answer has three or four. The caller has made room (``LWSServer/writeHTTPResponse(_:to:)``).
enum HTTPHeaderWriter {
    /// `name: value\r\n`, the name's ASCII letters lower-cased.
    static func line(name: String, value: String, at cursor: inout UnsafeMutablePointer<UInt8>) {
        let start = cursor
        bytes(name, at: &cursor)
        for index in 0..<(cursor - start) where start[index] >= UInt8(ascii: "A") && start[index] <= UInt8(ascii: "Z") {
            start[index] |= 0x20
        }
        bytes(": ", at: &cursor)
        bytes(value, at: &cursor)
        bytes("\r\n", at: &cursor)
    }

    /// `content-length: N\r\n`.
    static func contentLength(_ length: Int, at cursor: inout UnsafeMutablePointer<UInt8>) {
        bytes("content-length: ", at: &cursor)
        var divisor = 1
        while divisor <= length / 10 { divisor *= 10 }
        repeat {
            cursor.pointee = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: length / divisor % 10)
            cursor += 1
            divisor /= 10
        } while divisor > 0
        bytes("\r\n", at: &cursor)
    }

    /// The UTF-8 bytes of `text`, copied at once (a native string, small or not, has them contiguous).
    static func bytes(_ text: String, at cursor: inout UnsafeMutablePointer<UInt8>) {
        let copied = text.utf8.withContiguousStorageIfAvailable { utf8 -> Int in
            if let base = utf8.baseAddress { cursor.update(from: base, count: utf8.count) }
            return utf8.count
        }
        if let copied {
            cursor += copied
            return
        }
        for byte in text.utf8 {
            cursor.pointee = byte
            cursor += 1
        }
    }
}
