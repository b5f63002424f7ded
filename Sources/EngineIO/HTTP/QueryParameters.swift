/// A request's query parameters (`EIO=4&transport=polling&sid=…`), each decoded exactly once.
///
/// Behind lws the parameters arrive already decoded, one argument at a time: lws splits the query at
/// every `&` (and `;`) that was not escaped, turns `%XX` into its byte and `+` into a space. Those
/// arguments are taken here as they are (``append(decodedArgument:)``), split at their first `=` and
/// never decoded again: decoding twice would let `pollin%2567` pass for `polling`, let `%250A` put a
/// newline into a value, and split `a=%26b` in two. A raw query string (tests, in-memory transports)
/// is decoded once by ``init(_:)`` instead.
///
/// Every polling request carries one, so it is parsed as bytes: splitting a `String` walks grapheme
/// clusters, which cost more than the rest of the request's handling in quench.
public struct QueryParameters: Sendable, Equatable {
    private var pairs: [(name: String, value: String)]

    /// No parameters; add lws's decoded arguments with ``append(decodedArgument:)``, with room for
    /// `capacity` of them (an Engine.IO request carries three or four) so the list is allocated once.
    public init(capacity: Int = 0) {
        pairs = []
        pairs.reserveCapacity(capacity)
    }

    /// Parses a raw query string as it appears in a URL, with or without a leading `?`: split at `&`,
    /// each name and value percent-decoded once (`+` is a space). Malformed escapes are kept literally.
    public init(_ raw: some StringProtocol) {
        pairs = []
        var text = String(raw)
        text.withUTF8 { bytes in
            var start = bytes.first == UInt8(ascii: "?") ? 1 : 0
            while start < bytes.count {
                var end = start
                while end < bytes.count, bytes[end] != UInt8(ascii: "&") { end += 1 }
                if end > start {
                    let part = UnsafeBufferPointer(rebasing: bytes[start..<end])
                    let equals = part.firstIndex(of: UInt8(ascii: "=")) ?? part.count
                    let name = UnsafeBufferPointer(rebasing: part[..<equals])
                    let value = UnsafeBufferPointer(rebasing: part[min(equals + 1, part.count)...])
                    pairs.append((Self.percentDecoded(name), Self.percentDecoded(value)))
                }
                start = end + 1
            }
        }
    }

    /// Adds one argument exactly as lws decoded it (`name=value`, or `name` alone for an empty value).
    /// Its bytes are split at the first `=` and taken literally; an empty argument (from `&&`) adds nothing.
    public mutating func append(decodedArgument bytes: UnsafeBufferPointer<UInt8>) {
        guard !bytes.isEmpty else { return }
        guard let equals = bytes.firstIndex(of: UInt8(ascii: "=")) else {
            pairs.append((String(decoding: bytes, as: UTF8.self), ""))
            return
        }
        pairs.append(
            (String(decoding: UnsafeBufferPointer(rebasing: bytes[..<equals]), as: UTF8.self),
             String(decoding: UnsafeBufferPointer(rebasing: bytes[(equals + 1)...]), as: UTF8.self)))
    }

    /// The first value given for `name`. Lengths are compared first: a polling request looks up a
    /// parameter nine times, and comparing two different short strings costs a library call each time.
    public subscript(name: String) -> String? {
        let length = name.utf8.count
        return pairs.first { $0.name.utf8.count == length && $0.name == name }?.value
    }

    /// How many parameters there are, repeated names included.
    public var count: Int { pairs.count }

    /// Every parameter in order, repeated names included (to carry a request to another node).
    public var all: [(name: String, value: String)] { pairs }

    /// Parameters given one by one, already decoded.
    public init(decoded pairs: [(name: String, value: String)]) {
        self.pairs = pairs
    }

    public static func == (lhs: QueryParameters, rhs: QueryParameters) -> Bool {
        lhs.pairs.elementsEqual(rhs.pairs) { $0 == $1 }
    }

    /// Percent-decodes one name or value of a raw query string; a malformed escape leaves the text as it came.
    private static func percentDecoded(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        guard bytes.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else { return text }
        guard let decoded = PercentDecoding.bytes(text, plusIsSpace: true) else { return text }
        return String(decoding: decoded, as: UTF8.self)
    }
}
