/// A request's query parameters (`EIO=4&transport=polling&sid=…`), each decoded exactly once.
///
/// Behind lws the parameters arrive already decoded, one argument at a time: lws splits the query at
/// every `&` (and `;`) that was not escaped, turns `%XX` into its byte and `+` into a space. Those
/// arguments are taken here as they are (``append(decodedArgument:)``), split at their first `=` and
/// never decoded again: decoding twice would let `pollin%2567` pass for `polling`, let `%250A` put a
/// newline into a value, and split `a=%26b` in two. A raw query string (tests, in-memory transports)
/// is decoded once by ``init(_:)`` instead.
///
/// Every polling request carries one, so the arguments are kept as bytes, one after another in one
/// buffer, and a value becomes a `String` only when asked for: a list of `String` pairs cost more per
/// request (eight strings made and validated, then destroyed one by one) than the rest of the engine's
/// routing together. Each argument is stored as its length (two bytes, little-endian) and `name=value`,
/// with the `=` always there, so `a` and `a=` are stored alike, as a list of pairs would have held them.
/// An argument that is not ASCII is stored as its UTF-8 after repair (U+FFFD for each bad byte), so
/// lookups, comparisons and ``all`` see exactly the strings a list of pairs held.
public struct QueryParameters: Sendable, Equatable {
    private var storage: [UInt8] = []
    /// How many parameters there are, repeated names included.
    public private(set) var count = 0

    /// An argument's length is stored in two bytes. lws cuts each header at 16 KiB (HeaderLimits), so no
    /// client's argument comes near it; a longer one (only a forged node message could carry it) is cut here.
    private static let maximumArgument = Int(UInt16.max)

    /// No parameters; add lws's decoded arguments with ``append(decodedArgument:)``, with room for a
    /// query of `bytes` (lws's total length of its arguments) so the buffer is allocated once.
    public init(capacity bytes: Int = 0) {
        if bytes > 0 { storage.reserveCapacity(bytes + 16) }
    }

    /// Parses a raw query string as it appears in a URL, with or without a leading `?`: split at `&`,
    /// each name and value percent-decoded once (`+` is a space). Malformed escapes are kept literally.
    public init(_ raw: some StringProtocol) {
        var text = String(raw)
        var parameters = QueryParameters()
        text.withUTF8 { bytes in
            var start = bytes.first == UInt8(ascii: "?") ? 1 : 0
            while start < bytes.count {
                var end = start
                while end < bytes.count, bytes[end] != UInt8(ascii: "&") { end += 1 }
                if end > start {
                    let part = UnsafeBufferPointer(rebasing: bytes[start..<end])
                    let equals = part.firstIndex(of: UInt8(ascii: "=")) ?? part.count
                    parameters.add(
                        name: Self.percentDecoded(UnsafeBufferPointer(rebasing: part[..<equals])),
                        value: Self.percentDecoded(UnsafeBufferPointer(rebasing: part[min(equals + 1, part.count)...])))
                }
                start = end + 1
            }
        }
        self = parameters
    }

    /// Parameters given one by one, already decoded.
    public init(decoded pairs: [(name: String, value: String)]) {
        for (name, value) in pairs { add(name: name, value: value) }
    }

    /// Adds one argument exactly as lws decoded it (`name=value`, or `name` alone for an empty value).
    /// Its bytes are split at the first `=` and taken literally; an empty argument (from `&&`) adds nothing.
    public mutating func append(decodedArgument bytes: UnsafeBufferPointer<UInt8>) {
        guard !bytes.isEmpty else { return }
        let equals = bytes.firstIndex(of: UInt8(ascii: "=")) ?? bytes.count
        guard Self.isASCII(bytes), bytes.count < Self.maximumArgument else {
            add(
                name: String(decoding: UnsafeBufferPointer(rebasing: bytes[..<equals]), as: UTF8.self),
                value: String(decoding: UnsafeBufferPointer(rebasing: bytes[min(equals + 1, bytes.count)...]), as: UTF8.self))
            return
        }
        let stored = equals == bytes.count ? bytes.count + 1 : bytes.count
        storage.append(UInt8(truncatingIfNeeded: stored))
        storage.append(UInt8(truncatingIfNeeded: stored >> 8))
        storage.append(contentsOf: bytes)
        if equals == bytes.count { storage.append(UInt8(ascii: "=")) }
        count += 1
    }

    /// The first value given for `name`.
    public subscript(name: String) -> String? {
        withValue(name) { $0.map { String(decoding: $0, as: UTF8.self) } }
    }

    /// Whether `name` was given at all (with any value, empty included); no `String` is made.
    public func contains(_ name: String) -> Bool { withValue(name) { $0 != nil } }

    /// Calls `body` with the bytes of the first value given for `name`, or nil when there is none.
    public func withValue<Result>(_ name: String, _ body: (UnsafeBufferPointer<UInt8>?) -> Result) -> Result {
        Self.withBytes(of: name) { wanted in
            storage.withUnsafeBufferPointer { bytes in
                var start = 0
                while start < bytes.count {
                    let argument = Self.argument(in: bytes, at: start)
                    start = argument.upperBound
                    let nameEnd = argument.lowerBound + wanted.count
                    guard argument.count > wanted.count, bytes[nameEnd] == UInt8(ascii: "="),
                        Self.equal(UnsafeBufferPointer(rebasing: bytes[argument.lowerBound..<nameEnd]), wanted)
                    else { continue }
                    return body(UnsafeBufferPointer(rebasing: bytes[nameEnd + 1..<argument.upperBound]))
                }
                return body(nil)
            }
        }
    }

    /// `text`'s UTF-8 in place (a short string's from the stack), copied only for a string that has none.
    private static func withBytes<Result>(of text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(text.utf8).withUnsafeBufferPointer(body)
    }

    /// Whether `text`'s UTF-8 is `bytes` (a value ``withValue(_:_:)`` handed over).
    public static func text(_ text: String, equals bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        withBytes(of: text) { equal($0, bytes) }
    }

    private static func equal(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        for index in 0..<a.count where a[index] != b[index] { return false }
        return true
    }

    /// Every parameter in order, repeated names included (to carry a request to another node).
    public var all: [(name: String, value: String)] {
        var pairs: [(name: String, value: String)] = []
        pairs.reserveCapacity(count)
        storage.withUnsafeBufferPointer { bytes in
            var start = 0
            while start < bytes.count {
                let argument = Self.argument(in: bytes, at: start)
                let equals = bytes[argument].firstIndex(of: UInt8(ascii: "=")) ?? argument.upperBound
                pairs.append(
                    (String(decoding: UnsafeBufferPointer(rebasing: bytes[argument.lowerBound..<equals]), as: UTF8.self),
                     String(decoding: UnsafeBufferPointer(rebasing: bytes[min(equals + 1, argument.upperBound)..<argument.upperBound]), as: UTF8.self)))
                start = argument.upperBound
            }
        }
        return pairs
    }

    public static func == (lhs: QueryParameters, rhs: QueryParameters) -> Bool {
        lhs.storage == rhs.storage
    }

    /// The bytes (`name=value`) of the argument stored at `start`.
    private static func argument(in bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Range<Int> {
        let length = Int(bytes[start]) | Int(bytes[start + 1]) << 8
        return start + 2..<start + 2 + length
    }

    /// One parameter from strings (repaired already, as every `String` is): stored as `name=value`.
    private mutating func add(name: String, value: String) {
        var argument = name
        argument.append("=")
        argument.append(value)
        let bytes = Array(argument.utf8.prefix(Self.maximumArgument))
        storage.append(UInt8(truncatingIfNeeded: bytes.count))
        storage.append(UInt8(truncatingIfNeeded: bytes.count >> 8))
        storage.append(contentsOf: bytes)
        count += 1
    }

    private static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var any: UInt8 = 0
        for byte in bytes { any |= byte }
        return any < 0x80
    }

    /// Percent-decodes one name or value of a raw query string; a malformed escape leaves the text as it came.
    private static func percentDecoded(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        guard bytes.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else { return text }
        guard let decoded = PercentDecoding.bytes(text, plusIsSpace: true) else { return text }
        return String(decoding: decoded, as: UTF8.self)
    }
}
