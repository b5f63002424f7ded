import EngineIO
import SocketIO

/// The JSON text inside a message body as python-socketio's AMQP managers send it.
///
/// On the wire (captured from python-socketio 5.16 and Kombu 5.x): `KombuManager` publishes
/// `json.dumps(message)`, a str, which Kombu sends as it is with content type `text/plain`, encoding `utf-8`
/// and delivery mode 2; `AsyncAioPikaManager` publishes the same JSON with no content type. quench publishes
/// exactly as Kombu does, and both kinds of python node read it (`PubSubManager` parses the text).
/// A producer told to use Kombu's JSON serializer on that str would send a JSON *string* holding the JSON:
/// that is unwrapped here too. Anything else (a pickle) is refused with a reason.
enum AMQPBody {
    /// The JSON text of the message in `body`, or why it cannot be read.
    static func messageJSON(_ body: [UInt8], contentType: String?) throws(AMQPBodyError) -> [UInt8] {
        if let contentType, !["text/plain", "application/json", "application/octet-stream"].contains(contentType.lowercased()) {
            if contentType == "application/x-python-serialize" {
                throw AMQPBodyError("a pickled message (Kombu's pickle serializer); quench reads JSON only, as python-socketio's managers send it")
            }
            throw AMQPBodyError("content type \(LogSafe.text(contentType)) is not JSON")
        }
        guard let first = body.first(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }), first == UInt8(ascii: "\"") else {
            return body
        }
        do throws(JSONError) {
            guard case .string(let inner) = try JSONParser.parse(body) else { return body }
            return Array(inner.utf8)
        } catch {
            throw AMQPBodyError("a JSON string that does not parse: \(error)")
        }
    }
}

struct AMQPBodyError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
