/// A JSON value as carried by Socket.IO packets, plus Socket.IO's binary attachments.
///
/// Objects keep their members in wire order (duplicates included), so a value decoded and encoded again
/// produces the same members in the same order. `.binary` is not JSON: it is a Socket.IO binary attachment,
/// which exists only in values before encoding or after ``BinaryPlaceholders/reconstruct(_:attachments:)``.
public enum JSONValue: Equatable, Sendable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number written without fraction or exponent that fits `Int64`.
    case int(Int64)
    /// Any other number (fraction, exponent, or an integer beyond `Int64`).
    case double(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object; members in wire order.
    case object([JSONMember])
    /// A Socket.IO binary attachment (not JSON).
    case binary([UInt8])
}

/// One member of a JSON object.
public struct JSONMember: Equatable, Sendable {
    /// The member's key.
    public var key: String
    /// The member's value.
    public var value: JSONValue

    /// Creates a member.
    /// - Parameters:
    ///   - key: The member's key.
    ///   - value: The member's value.
    public init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }
}

extension JSONValue {
    /// Builds an object from key/value pairs, keeping their order.
    public static func object(_ pairs: KeyValuePairs<String, JSONValue>) -> JSONValue {
        var members: [JSONMember] = []
        members.reserveCapacity(pairs.count)
        for (key, value) in pairs {
            members.append(JSONMember(key, value))
        }
        return .object(members)
    }

    /// The value of the member named `key` when this is an object (the last duplicate wins); nil otherwise.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        for member in members.reversed() where member.key == key {
            return member.value
        }
        return nil
    }

    /// The element at `index` when this is an array and the index is in range; nil otherwise.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    /// The string when this is `.string`; nil otherwise.
    public var stringValue: String? {
        guard case .string(let string) = self else { return nil }
        return string
    }

    /// The elements when this is `.array`; nil otherwise.
    public var arrayValue: [JSONValue]? {
        guard case .array(let elements) = self else { return nil }
        return elements
    }

    /// The members when this is `.object`; nil otherwise.
    public var objectValue: [JSONMember]? {
        guard case .object(let members) = self else { return nil }
        return members
    }

    /// True when this is `.object`.
    public var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    /// True when this value is or contains a `.binary` attachment at any depth.
    public var containsBinary: Bool {
        switch self {
        case .binary:
            return true
        case .array(let elements):
            return elements.contains { $0.containsBinary }
        case .object(let members):
            return members.contains { $0.value.containsBinary }
        case .null, .bool, .int, .double, .string:
            return false
        }
    }
}

extension JSONValue: ExpressibleByNilLiteral {
    /// `nil` is `.null`.
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue: ExpressibleByBooleanLiteral {
    /// A Boolean literal is `.bool`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension JSONValue: ExpressibleByIntegerLiteral {
    /// An integer literal is `.int`.
    public init(integerLiteral value: Int64) { self = .int(value) }
}

extension JSONValue: ExpressibleByFloatLiteral {
    /// A floating-point literal is `.double`.
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension JSONValue: ExpressibleByStringLiteral {
    /// A string literal is `.string`.
    public init(stringLiteral value: String) { self = .string(value) }
}

extension JSONValue: ExpressibleByArrayLiteral {
    /// An array literal is `.array`.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}

extension JSONValue: ExpressibleByDictionaryLiteral {
    /// A dictionary literal is `.object`, members in literal order.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(elements.map { JSONMember($0.0, $0.1) })
    }
}

extension JSONValue: CustomStringConvertible {
    /// The compact JSON text of this value (`.binary` shows as `<binary N bytes>`).
    public var description: String {
        if containsBinary {
            return describeWithBinary()
        }
        var out: [UInt8] = []
        JSONWriter.append(self, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private func describeWithBinary() -> String {
        switch self {
        case .binary(let bytes):
            return "<binary \(bytes.count) bytes>"
        case .array(let elements):
            return "[" + elements.map(\.description).joined(separator: ",") + "]"
        case .object(let members):
            let body = members.map { member -> String in
                var key: [UInt8] = []
                JSONWriter.appendString(member.key, to: &key)
                return String(decoding: key, as: UTF8.self) + ":" + member.value.description
            }
            return "{" + body.joined(separator: ",") + "}"
        case .null, .bool, .int, .double, .string:
            return description
        }
    }
}
