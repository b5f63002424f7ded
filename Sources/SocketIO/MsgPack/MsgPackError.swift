/// Why a MessagePack message was rejected, and the byte offset where that was noticed.
public struct MsgPackError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The kind of failure; compare against the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case unexpectedEnd
            case invalidUTF8
            case nestingTooDeep
            case trailingBytes
            case unsupportedType
            case nonStringKey
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The message ended inside a value (a length or count promising more bytes than there are).
        public static let unexpectedEnd = Code(.unexpectedEnd)
        /// A str whose bytes are not well-formed UTF-8.
        public static let invalidUTF8 = Code(.invalidUTF8)
        /// Arrays/maps nested deeper than ``MsgPackReader/maxDepth``.
        public static let nestingTooDeep = Code(.nestingTooDeep)
        /// Bytes after the one complete value a message holds.
        public static let trailingBytes = Code(.trailingBytes)
        /// A type Socket.IO values cannot hold: an ext (timestamps and the like) or the never-used byte 0xC1.
        public static let unsupportedType = Code(.unsupportedType)
        /// A map key that is not a str (Socket.IO objects, as JSON's, have string keys).
        public static let nonStringKey = Code(.nonStringKey)

        /// A short human-readable name of the failure.
        public var description: String {
            switch base {
            case .unexpectedEnd: "unexpected end of message"
            case .invalidUTF8: "invalid UTF-8 in a str"
            case .nestingTooDeep: "nesting too deep"
            case .trailingBytes: "trailing bytes"
            case .unsupportedType: "unsupported type"
            case .nonStringKey: "map key that is not a str"
            }
        }
    }

    /// The kind of failure.
    public let code: Code
    /// Byte offset where the failure was noticed.
    public let offset: Int
    /// The type byte at fault, when there was one.
    public let byte: UInt8?

    /// Creates an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - offset: Byte offset where it was noticed.
    ///   - byte: The type byte at fault, if any.
    public init(_ code: Code, at offset: Int, byte: UInt8? = nil) {
        self.code = code
        self.offset = offset
        self.byte = byte
    }

    /// For example `unsupported type 0xC7 at byte 12`.
    public var description: String {
        guard let byte else { return "\(code) at byte \(offset)" }
        let digits = Array("0123456789ABCDEF")
        return "\(code) 0x\(digits[Int(byte >> 4)])\(digits[Int(byte & 0xF)]) at byte \(offset)"
    }
}
