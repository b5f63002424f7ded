/// Finds the bytes of a JSON string body that need attention — `"`, `\` and control bytes below 0x20 —
/// eight at a time. Message texts are mostly plain, so the parser and the writer skip whole words of them
/// instead of testing every byte (the classic "has a byte less than n" word tricks).
enum JSONStringScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// The offset of the first byte at or after `start` that is a quote, a backslash or below 0x20,
    /// or `bytes.count` if there is none. Every byte it skips is plain.
    @inline(__always)
    static func firstSpecial(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        if let base = bytes.baseAddress {
            while index + 8 <= bytes.count {
                let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                if hasSpecialByte(word) { break }
                index += 8
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x20 || byte == JSONByte.quote || byte == JSONByte.backslash { return index }
            index += 1
        }
        return index
    }

    /// Whether any of the eight bytes of `word` is below 0x20, a quote or a backslash.
    @inline(__always)
    static func hasSpecialByte(_ word: UInt64) -> Bool {
        // (x - n·ones) & ~x & highBits is non-zero exactly when some byte of x is below n (n ≤ 0x80);
        // a byte equal to c is a zero byte of x ^ c·ones, that is, one below 1.
        let quotes = word ^ (ones &* UInt64(JSONByte.quote))
        let backslashes = word ^ (ones &* UInt64(JSONByte.backslash))
        let control = (word &- ones &* 0x20) & ~word
        let quote = (quotes &- ones) & ~quotes
        let backslash = (backslashes &- ones) & ~backslashes
        return (control | quote | backslash) & highBits != 0
    }

    /// Whether any byte in `bytes` is 0x80 or above (not ASCII), eight at a time.
    static func hasNonASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        var union: UInt64 = 0
        if let base = bytes.baseAddress {
            while index + 8 <= bytes.count {
                union |= UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                index += 8
            }
        }
        while index < bytes.count {
            union |= UInt64(bytes[index])
            index += 1
        }
        return union & highBits != 0
    }
}
