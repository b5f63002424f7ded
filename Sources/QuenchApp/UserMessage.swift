import SocketIO

/// What the app makes of a `user_message` payload: the text to echo, or why there is none.
public enum UserMessage {
    /// The text the seed would have read as `data['text']`: a string as is, a number or boolean as its
    /// JSON text. Nil for anything else (no object, no `text`, null, an array or object).
    public static func text(from arguments: [JSONValue]) -> String? {
        guard let text = arguments.first?["text"] else { return nil }
        switch text {
        case .string(let string): return string
        case .int, .double, .bool: return String(decoding: JSONWriter.encode(text), as: UTF8.self)
        case .null, .array, .object, .binary: return nil
        }
    }

    /// The dummy reply: `<text> rcvd at HH:MM:SS (dummy reply)`.
    public static func reply(to text: String, at time: WallTime) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 32)
        bytes.append(contentsOf: text.utf8)
        bytes.append(contentsOf: " rcvd at ".utf8)
        bytes.append(contentsOf: time.clockDigits(withSeconds: true))
        bytes.append(contentsOf: " (dummy reply)".utf8)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The reminder text: `Remember to stay hydrated! It's HH:MM`.
    public static func reminder(at time: WallTime) -> String {
        "Remember to stay hydrated! It's \(time.hoursMinutes)"
    }

    /// What a client that sent an unusable payload is told (the connection stays up).
    public static let expectedShape =
        "user_message needs one argument shaped like {\"text\": \"your message\"} (text may be a string, number or boolean)"
}
