/// Moves Socket.IO binary attachments out of a value and back in.
///
/// On the wire each `.binary` is replaced by exactly `{"_placeholder":true,"num":N}`, N counting from 0 in
/// depth-first wire order, and its bytes travel as the N-th binary message after the text frame.
public enum BinaryPlaceholders {
    /// Replaces every `.binary` in `value` by a placeholder object.
    /// - Parameter value: The value to strip.
    /// - Returns: The value with placeholders, and the attachments in placeholder order. A value without
    ///   binaries is returned unchanged (no copy) with no attachments.
    public static func deconstruct(_ value: JSONValue) -> (JSONValue, [[UInt8]]) {
        guard value.containsBinary else { return (value, []) }
        var attachments: [[UInt8]] = []
        let stripped = deconstruct(value, into: &attachments)
        return (stripped, attachments)
    }

    /// Replaces every placeholder in `value` by its attachment.
    /// - Parameters:
    ///   - value: The decoded data of a binary packet.
    ///   - attachments: The binary messages that followed it, in order.
    /// - Returns: The value with `.binary` in place of each placeholder.
    /// - Throws: ``SocketIOPacketError/Code/invalidPlaceholder`` for a malformed placeholder (an object whose
    ///   `_placeholder` is `true` but is not exactly `{"_placeholder":true,"num":N}`), a `num` out of range or
    ///   used twice; ``SocketIOPacketError/Code/attachmentMismatch`` when the placeholders do not use every
    ///   attachment.
    public static func reconstruct(_ value: JSONValue, attachments: [[UInt8]]) throws(SocketIOPacketError) -> JSONValue {
        var used = [Bool](repeating: false, count: attachments.count)
        var found = 0
        let result = try reconstruct(value, attachments: attachments, used: &used, found: &found)
        guard found == attachments.count else {
            throw SocketIOPacketError(.attachmentMismatch, "\(attachments.count) attachments, \(found) placeholders")
        }
        return result
    }

    /// Checks the placeholders in `value` against a declared attachment count without replacing them.
    static func validate(_ value: JSONValue, attachmentCount: Int) throws(SocketIOPacketError) {
        var used = [Bool](repeating: false, count: attachmentCount)
        var found = 0
        try visit(value, used: &used, found: &found)
        guard found == attachmentCount else {
            throw SocketIOPacketError(.attachmentMismatch, "declared \(attachmentCount), \(found) placeholders")
        }
    }

    // MARK: Internals

    private static func deconstruct(_ value: JSONValue, into attachments: inout [[UInt8]]) -> JSONValue {
        switch value {
        case .binary(let bytes):
            let placeholder = placeholder(attachments.count)
            attachments.append(bytes)
            return placeholder
        case .array(let elements):
            return .array(elements.map { deconstruct($0, into: &attachments) })
        case .object(let members):
            return .object(members.map { JSONMember($0.key, deconstruct($0.value, into: &attachments)) })
        case .null, .bool, .int, .double, .string:
            return value
        }
    }

    /// The placeholder object for attachment `num`.
    static func placeholder(_ num: Int) -> JSONValue {
        .object([JSONMember("_placeholder", .bool(true)), JSONMember("num", .int(Int64(num)))])
    }

    /// The attachment index if `members` form a placeholder; nil if they are an ordinary object.
    private static func placeholderIndex(_ members: [JSONMember], count: Int) throws(SocketIOPacketError) -> Int? {
        guard members.contains(where: { $0.key == "_placeholder" && $0.value == .bool(true) }) else { return nil }
        guard members.count == 2, members[0].key == "_placeholder" || members[1].key == "_placeholder",
            let numMember = members.first(where: { $0.key == "num" }), case .int(let num) = numMember.value
        else {
            throw SocketIOPacketError(.invalidPlaceholder, "expected {\"_placeholder\":true,\"num\":N}")
        }
        guard num >= 0 && num < count else {
            throw SocketIOPacketError(.invalidPlaceholder, "num \(num) out of range 0..<\(count)")
        }
        return Int(num)
    }

    private static func mark(_ num: Int, used: inout [Bool], found: inout Int) throws(SocketIOPacketError) {
        guard !used[num] else { throw SocketIOPacketError(.invalidPlaceholder, "num \(num) used twice") }
        used[num] = true
        found += 1
    }

    private static func visit(_ value: JSONValue, used: inout [Bool], found: inout Int) throws(SocketIOPacketError) {
        switch value {
        case .array(let elements):
            for element in elements { try visit(element, used: &used, found: &found) }
        case .object(let members):
            if let num = try placeholderIndex(members, count: used.count) {
                try mark(num, used: &used, found: &found)
            } else {
                for member in members { try visit(member.value, used: &used, found: &found) }
            }
        case .null, .bool, .int, .double, .string, .binary:
            break
        }
    }

    private static func reconstruct(
        _ value: JSONValue,
        attachments: [[UInt8]],
        used: inout [Bool],
        found: inout Int
    ) throws(SocketIOPacketError) -> JSONValue {
        switch value {
        case .array(let elements):
            var result: [JSONValue] = []
            result.reserveCapacity(elements.count)
            for element in elements {
                result.append(try reconstruct(element, attachments: attachments, used: &used, found: &found))
            }
            return .array(result)
        case .object(let members):
            if let num = try placeholderIndex(members, count: attachments.count) {
                try mark(num, used: &used, found: &found)
                return .binary(attachments[num])
            }
            var result: [JSONMember] = []
            result.reserveCapacity(members.count)
            for member in members {
                result.append(JSONMember(member.key, try reconstruct(member.value, attachments: attachments, used: &used, found: &found)))
            }
            return .object(result)
        case .null, .bool, .int, .double, .string, .binary:
            return value
        }
    }
}
