/// The open sessions by sid, looked up by a request's sid bytes without making a `String` of them.
///
/// Every polling request looks its session up. Keyed by `String`, that was a 20-byte string made and
/// validated (an allocation) and hashed whole, a tenth of quench's own instructions per polling reply. A
/// sid here is its bytes held inline (up to 32: a plain sid is 20, a node's 32), compared and hashed as
/// four words. A longer sid (no sid this server or a quench node makes, but a moved-in session keeps the
/// sid it came with) goes to a `String`-keyed table of its own.
struct SessionTable<Session> {
    private var inline: [InlineSID: Session] = [:]
    private var long: [String: Session] = [:]

    var count: Int { inline.count + long.count }
    var values: [Session] { Array(inline.values) + Array(long.values) }

    subscript(id: String) -> Session? {
        get {
            var id = id
            return id.withUTF8 { self[bytes: $0] }
        }
        set {
            var key = id
            key.withUTF8 { bytes in
                if let inlineKey = InlineSID(bytes) {
                    inline[inlineKey] = newValue
                } else {
                    long[id] = newValue
                }
            }
        }
    }

    subscript(bytes bytes: UnsafeBufferPointer<UInt8>) -> Session? {
        if let key = InlineSID(bytes) { return inline[key] }
        return long.isEmpty ? nil : long[String(decoding: bytes, as: UTF8.self)]
    }

    @discardableResult
    mutating func removeValue(forKey id: String) -> Session? {
        let removed = self[id]
        if removed != nil { self[id] = nil }
        return removed
    }
}

/// A sid of at most 32 bytes, as four words and a length (zero past the end).
struct InlineSID: Hashable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private let length: Int

    init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count <= 32 else { return nil }
        length = bytes.count
        withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: UnsafeRawBufferPointer(bytes)) }
    }

    static func == (lhs: InlineSID, rhs: InlineSID) -> Bool {
        lhs.length == rhs.length && lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1
            && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        if length > 16 { hasher.combine(words.2) }
        if length > 24 { hasher.combine(words.3) }
        hasher.combine(length)
    }
}
