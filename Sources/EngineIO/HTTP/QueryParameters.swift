/// A parsed URL query string (`EIO=4&transport=polling&sid=…`), percent-decoded.
///
/// Every polling request carries one, so it is parsed as bytes: splitting a `String` walks grapheme
/// clusters, which cost more than the rest of the request's handling in quench.
public struct QueryParameters: Sendable, Equatable {
    private var pairs: [(name: String, value: String)]

    /// Parses `raw`, with or without a leading `?`. Malformed escapes are kept literally.
    public init(_ raw: some StringProtocol) {
        var text = String(raw)
        self = text.withUTF8 { QueryParameters(utf8: $0) }
    }

    /// Parses the UTF-8 bytes of a query string, with or without a leading `?`.
    public init(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        pairs = []
        pairs.reserveCapacity(4)
        var start = bytes.first == UInt8(ascii: "?") ? 1 : 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "&") { end += 1 }
            if end > start {
                let part = bytes[start..<end]
                if let equals = part.firstIndex(of: UInt8(ascii: "=")) {
                    pairs.append((Self.decode(part[..<equals]), Self.decode(part[(equals + 1)...])))
                } else {
                    pairs.append((Self.decode(part), ""))
                }
            }
            start = end + 1
        }
    }

    /// The first value given for `name`.
    public subscript(name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    public static func == (lhs: QueryParameters, rhs: QueryParameters) -> Bool {
        lhs.pairs.elementsEqual(rhs.pairs) { $0 == $1 }
    }

    /// Percent-decodes one name or value; a malformed escape leaves the text as it came.
    private static func decode(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> String {
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes), as: UTF8.self)
        guard bytes.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else { return text }
        guard let decoded = PercentDecoding.bytes(text, plusIsSpace: true) else { return text }
        return String(decoding: decoded, as: UTF8.self)
    }
}
