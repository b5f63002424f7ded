/// A parsed URL query string (`EIO=4&transport=polling&sid=…`), percent-decoded.
public struct QueryParameters: Sendable, Equatable {
    private var pairs: [(name: String, value: String)]

    /// Parses `raw`, with or without a leading `?`. Malformed escapes are kept literally.
    public init(_ raw: some StringProtocol) {
        pairs = []
        var text = Substring(raw)
        if text.first == "?" { text = text.dropFirst() }
        for part in text.split(separator: "&", omittingEmptySubsequences: true) {
            if let equals = part.firstIndex(of: "=") {
                pairs.append((Self.decode(part[..<equals]), Self.decode(part[part.index(after: equals)...])))
            } else {
                pairs.append((Self.decode(part), ""))
            }
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
    private static func decode(_ text: Substring) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else { return String(text) }
        guard let bytes = PercentDecoding.bytes(text, plusIsSpace: true) else { return String(text) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
