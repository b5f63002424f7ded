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
        // Written into the new string's own storage: one allocation, no intermediate strings.
        var text = text
        return text.withUTF8 { body in
            String(unsafeUninitializedCapacity: body.count + replyExtraLength) { out in
                var position = 0
                func write(_ bytes: UnsafeBufferPointer<UInt8>) {
                    guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
                    (out.baseAddress! + position).update(from: source, count: bytes.count)
                    position += bytes.count
                }
                write(body)
                write(UnsafeBufferPointer(start: rcvdAt.utf8Start, count: rcvdAt.utf8CodeUnitCount))
                position += time.writeClock(withSeconds: true, into: out.baseAddress! + position)
                write(UnsafeBufferPointer(start: dummyReply.utf8Start, count: dummyReply.utf8CodeUnitCount))
                return position
            }
        }
    }

    private static let rcvdAt: StaticString = " rcvd at "
    private static let dummyReply: StaticString = " (dummy reply)"
    private static let replyExtraLength =
        rcvdAt.utf8CodeUnitCount + WallTime.clockTextMaxLength + dummyReply.utf8CodeUnitCount

    /// The reminder text: `Remember to stay hydrated! It's HH:MM`.
    public static func reminder(at time: WallTime) -> String {
        "Remember to stay hydrated! It's \(time.hoursMinutes)"
    }

    /// What a client that sent an unusable payload is told (the connection stays up).
    public static let expectedShape =
        "user_message needs one argument shaped like {\"text\": \"your message\"} (text may be a string, number or boolean)"
}
