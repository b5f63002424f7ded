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
        // Appending known-valid strings to one buffer: no intermediate copies, no UTF-8 re-validation.
        var reply = text
        reply.reserveCapacity(text.utf8.count + 31)
        reply.append(" rcvd at ")
        reply.append(time.hoursMinutesSeconds)
        reply.append(" (dummy reply)")
        return reply
    }

    /// The reminder text: `Remember to stay hydrated! It's HH:MM`.
    public static func reminder(at time: WallTime) -> String {
        "Remember to stay hydrated! It's \(time.hoursMinutes)"
    }

    /// What a client that sent an unusable payload is told (the connection stays up).
    public static let expectedShape =
        "user_message needs one argument shaped like {\"text\": \"your message\"} (text may be a string, number or boolean)"
}
