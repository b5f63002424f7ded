import Testing

@testable import QuenchAMQP

/// Message bodies as KombuManager (a JSON string holding the JSON) and AsyncAioPikaManager (the JSON) send them.
@Suite struct AMQPBodyTests {
    @Test func kombusDoubleEncodedBodyIsUnwrapped() throws {
        let body = Array(#""{\"method\": \"emit\", \"event\": \"é\"}""#.utf8)
        #expect(try AMQPBody.messageJSON(body, contentType: "application/json") == Array(#"{"method": "emit", "event": "é"}"#.utf8))
    }

    @Test func aioPikasPlainJSONIsTakenAsItIs() throws {
        let body = Array(#"{"method":"emit"}"#.utf8)
        #expect(try AMQPBody.messageJSON(body, contentType: nil) == body)
    }

    @Test func picklesAndOtherTypesAreRefusedWithAReason() {
        #expect(throws: AMQPBodyError.self) { try AMQPBody.messageJSON([0x80, 0x04], contentType: "application/x-python-serialize") }
        #expect(throws: AMQPBodyError.self) { try AMQPBody.messageJSON([0x80], contentType: "application/x-msgpack") }
        #expect(throws: AMQPBodyError.self) { try AMQPBody.messageJSON(Array(#""unterminated"#.utf8), contentType: nil) }
    }

    @Test func queueNameIsTheHostIDAsAUUID() {
        #expect(AMQPMessageQueue.queueName(hostID: "0123456789abcdef0123456789abcdef") == "python-socketio.01234567-89ab-cdef-0123-456789abcdef")
    }
}
