/// Why a JSON text was rejected, and the byte offset where that was noticed.
public struct JSONError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The kind of failure; compare against the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case unexpectedCharacter
            case unexpectedEnd
            case invalidNumber
            case invalidEscape
            case invalidUTF8
            case controlCharacterInString
            case nestingTooDeep
            case trailingCharacters
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A byte that cannot start or continue the value being parsed.
        public static let unexpectedCharacter = Code(.unexpectedCharacter)
        /// The input ended inside a value.
        public static let unexpectedEnd = Code(.unexpectedEnd)
        /// A malformed number (leading zero, missing digits after `.` or `e`, lone `-`).
        public static let invalidNumber = Code(.invalidNumber)
        /// A backslash escape other than `\" \\ \/ \b \f \n \r \t \uXXXX`.
        public static let invalidEscape = Code(.invalidEscape)
        /// Bytes in a string that are not well-formed UTF-8.
        public static let invalidUTF8 = Code(.invalidUTF8)
        /// An unescaped byte below 0x20 inside a string.
        public static let controlCharacterInString = Code(.controlCharacterInString)
        /// Arrays/objects nested deeper than ``JSONParser/maxDepth``.
        public static let nestingTooDeep = Code(.nestingTooDeep)
        /// Something other than whitespace after a complete JSON text.
        public static let trailingCharacters = Code(.trailingCharacters)

        /// A short human-readable name of the failure.
        public var description: String {
            switch base {
            case .unexpectedCharacter: "unexpected character"
            case .unexpectedEnd: "unexpected end of input"
            case .invalidNumber: "invalid number"
            case .invalidEscape: "invalid escape"
            case .invalidUTF8: "invalid UTF-8"
            case .controlCharacterInString: "unescaped control character in string"
            case .nestingTooDeep: "nesting too deep"
            case .trailingCharacters: "trailing characters"
            }
        }
    }

    /// The kind of failure.
    public let code: Code
    /// Byte offset (from the start of the buffer handed to the parser) where the failure was noticed.
    public let offset: Int
    /// The offending byte, when there was one.
    public let byte: UInt8?

    /// Creates an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - offset: Byte offset where it was noticed.
    ///   - byte: The offending byte, if any.
    public init(_ code: Code, at offset: Int, byte: UInt8? = nil) {
        self.code = code
        self.offset = offset
        self.byte = byte
    }

    /// For example `unexpected character 'x' at byte 12`.
    public var description: String {
        guard let byte else { return "\(code) at byte \(offset)" }
        if byte >= 0x20 && byte < 0x7F {
            return "\(code) '\(Character(Unicode.Scalar(byte)))' at byte \(offset)"
        }
        return "\(code) 0x\(Self.hex(byte)) at byte \(offset)"
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F"]
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }
}
