import Testing

@testable import EngineIO

@Suite struct EnginePacketTests {
    @Test(arguments: [
        (EnginePacket(.open, Array("{\"sid\":\"a\"}".utf8)), "0{\"sid\":\"a\"}"),
        (EnginePacket(.close), "1"),
        (EnginePacket(.ping), "2"),
        (EnginePacket(.ping, EnginePacket.probe), "2probe"),
        (EnginePacket(.pong, EnginePacket.probe), "3probe"),
        (EnginePacket.message(Array("hello é".utf8)), "4hello é"),
        (EnginePacket(.upgrade), "5"),
        (EnginePacket(.noop), "6"),
    ])
    func textFramesRoundTrip(packet: EnginePacket, wire: String) throws {
        #expect(String(decoding: packet.webSocketFrame(), as: UTF8.self) == wire)
        #expect(try EnginePacket.decode(webSocketFrame: Array(wire.utf8), isBinary: false) == packet)
    }

    @Test func binaryFrameIsTheRawMessage() throws {
        let packet = EnginePacket.binary([0, 1, 2, 255])
        #expect(packet.webSocketFrame() == [0, 1, 2, 255])
        #expect(try EnginePacket.decode(webSocketFrame: [0, 1, 2, 255], isBinary: true) == packet)
    }

    @Test(arguments: ["", "7", "9hello", "a", "\u{1E}"])
    func badTextFramesAreRejected(wire: String) {
        #expect(throws: EngineDecodingError.self) {
            try EnginePacket.decode(webSocketFrame: Array(wire.utf8), isBinary: false)
        }
    }

    @Test func pollingPayloadJoinsWithRecordSeparatorAndBase64() {
        let body = EnginePacket.encodePollingPayload([.message(Array("hi".utf8)), EnginePacket(.ping), .binary([1, 2, 3, 4])])
        #expect(body == Array("4hi\u{1E}2\u{1E}bAQIDBA==".utf8))
    }

    @Test func pollingPayloadSplits() throws {
        let packets = try EnginePacket.decodePollingPayload(Array("4hello\u{1E}3\u{1E}bAQID\u{1E}1".utf8))
        #expect(packets == [.message(Array("hello".utf8)), EnginePacket(.pong), .binary([1, 2, 3]), EnginePacket(.close)])
    }

    @Test(arguments: ["", "4a\u{1E}", "\u{1E}4a", "x", "4a\u{1E}b!!", "8"])
    func badPollingPayloadsAreRejected(body: String) {
        #expect(throws: EngineDecodingError.self) { try EnginePacket.decodePollingPayload(Array(body.utf8)) }
    }

    @Test(arguments: [[], [0], [0, 1], [0, 1, 2], [255, 254, 253, 252, 251], Array(0...255)] as [[UInt8]])
    func base64RoundTrips(bytes: [UInt8]) {
        #expect(Base64.decode(Base64.encode(bytes)) == bytes)
    }

    @Test func base64MatchesRFC4648Vectors() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(String(decoding: Base64.encode(Array(plain.utf8)), as: UTF8.self) == encoded)
            #expect(Base64.decode(Array(encoded.utf8)) == Array(plain.utf8))
        }
    }

    @Test(arguments: ["Zg=a", "Z", "Zm9v!", "Zg===", "Zm9vY"])
    func base64RejectsMalformedText(text: String) {
        #expect(Base64.decode(Array(text.utf8)) == nil)
    }
}
