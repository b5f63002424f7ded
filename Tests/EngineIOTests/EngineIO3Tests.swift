import EngineIOTesting
import Testing

@testable import EngineIO

private func hex(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        out.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return out
}

@Suite("Engine.IO 3 payloads")
struct PayloadV3Tests {
    @Test func binaryFormIsPythonEngineIO3s() throws {
        // python-engineio 3.14: Payload([Packet(MESSAGE, '2["a"]'), Packet(MESSAGE, b'\x00\xff')]).encode()
        let python = hex("0007ff34325b2261225d0103ff0400ff")
        let packets = [EnginePacket.message(Array("2[\"a\"]".utf8)), .binary([0, 0xFF])]
        #expect(try EnginePacket.decodePollingPayloadV3(python) == packets)
        let (body, contentType) = EnginePacket.encodePollingPayloadV3(packets, base64: false)
        #expect(body == python)
        #expect(contentType == "application/octet-stream")
    }

    @Test func textFormForBase64Clients() throws {
        // python-engineio 3.14: Payload([Packet(PING, 'probe'), Packet(MESSAGE, b'\x00\xff')]).encode(b64=True)
        let python = Array("6:2probe6:b4AP8=".utf8)
        let packets = [EnginePacket(.ping, EnginePacket.probe), .binary([0, 0xFF])]
        #expect(try EnginePacket.decodePollingPayloadV3(python) == packets)
        let (body, contentType) = EnginePacket.encodePollingPayloadV3(packets, base64: true)
        #expect(body == python)
        #expect(contentType.hasPrefix("text/plain"))
    }

    @Test func textOnlyPayloadsUseTheTextFormWithUTF16Lengths() throws {
        let packets = [EnginePacket(.open, Array("{\"sid\":\"a\"}".utf8)), .message(Array("0".utf8)), .message(Array("2[\"é\"]".utf8))]
        let (body, _) = EnginePacket.encodePollingPayloadV3(packets, base64: false)
        #expect(String(decoding: body, as: UTF8.self) == "12:0{\"sid\":\"a\"}2:407:42[\"é\"]")
        // Beyond the BMP JavaScript counts two units: a b64 client gets them, the others the binary form.
        let emoji = [EnginePacket.message(Array("2[\"😀\"]".utf8))]
        #expect(String(decoding: EnginePacket.encodePollingPayloadV3(emoji, base64: true).body, as: UTF8.self) == "8:42[\"😀\"]")
        #expect(try EnginePacket.decodePollingPayloadV3(Array("8:42[\"😀\"]".utf8)) == emoji)
        #expect(EnginePacket.encodePollingPayloadV3(emoji, base64: false).contentType == "application/octet-stream")
    }

    @Test(arguments: [
        "", "9:42", "x:4", ":4", "0:", "2:4", "1:7", "2:b4!", "4:b5AA", "12345678901:4", "3:4\u{1}",
    ])
    func malformedTextPayloadsAreRefused(_ body: String) {
        #expect(throws: EngineDecodingError.self) { try EnginePacket.decodePollingPayloadV3(Array(body.utf8)) }
    }

    @Test(arguments: ["00ff34", "000aff34", "0009090909090909090909ff34", "01", "0001", "0102ff0334", "02", "0001ff"])
    func malformedBinaryPayloadsAreRefused(_ body: String) {
        #expect(throws: EngineDecodingError.self) { try EnginePacket.decodePollingPayloadV3(hex(body)) }
    }

    @Test func aLengthCannotEndInsideACharacter() {
        // "😀" is two UTF-16 units: a length of one would split it.
        #expect(throws: EngineDecodingError.self) { try EnginePacket.decodePollingPayloadV3(Array("2:4😀".utf8)) }
    }
}

@Suite("Engine.IO 3 sessions")
struct EngineIO3SessionTests {
    private func engine(allowEIO3: Bool = true) -> (EngineServer, ManualClock) {
        let clock = ManualClock()
        let engine = EngineServer(
            configuration: EngineConfiguration(pingInterval: 300, pingTimeout: 200, allowEIO3: allowEIO3),
            clock: clock, log: Logger(level: .error, sink: { _ in }))
        clock.engine = engine
        return (engine, clock)
    }

    @Test func theClientPingsTheServerAnswersAndSilenceTimesOut() {
        let (engine, clock) = engine()
        defer { engine.closeAll() }
        let socket = engine.connectInMemory(query: "EIO=3&transport=websocket")
        #expect(socket.takeFrames().first?.hasPrefix("0{\"sid\":") == true)
        for _ in 0..<5 {
            clock.advance(by: 300)
            #expect(socket.takeFrames().isEmpty)  // the server never pings a v3 client
            socket.clientSends("2")
            #expect(socket.takeFrames() == ["3"])
        }
        socket.clientSends("2probe")
        #expect(socket.takeFrames() == ["3probe"])
        #expect(engine.sessionCount == 1)
        clock.advance(by: 499)
        #expect(engine.sessionCount == 1)
        clock.advance(by: 1)
        #expect(engine.sessionCount == 0)
    }

    @Test func binaryFramesCarryTheTypeByte() {
        let (engine, _) = engine()
        defer { engine.closeAll() }
        let socket = engine.connectInMemory(query: "EIO=3&transport=websocket")
        _ = socket.takeFrames()
        engine.sessions.values.first?.send(.binary([9, 8]))
        #expect(socket.takeFrames() == ["<binary>4 9 8"])
    }

    @Test func withoutTheFlagEIO3IsRefused() {
        let (engine, _) = engine(allowEIO3: false)
        let response = engine.requestInMemory(.get, query: "EIO=3&transport=polling")
        #expect(response.status == 400)
        #expect(engine.sessionCount == 0)
    }

    @Test func aV4SessionStillGetsServerPings() {
        let (engine, clock) = engine()
        defer { engine.closeAll() }
        let socket = engine.connectInMemory(query: "EIO=4&transport=websocket")
        _ = socket.takeFrames()
        clock.advance(by: 300)
        #expect(socket.takeFrames() == ["2"])
    }
}

@Suite("Engine.IO 3 bounds")
struct EngineIO3BoundsTests {
    @Test func aV3PollSessionGetsAtMostSixteenPacketsPerGETAndTheRestNext() throws {
        let clock = ManualClock()
        let engine = EngineServer(
            configuration: EngineConfiguration(pingInterval: 300, pingTimeout: 200, allowEIO3: true),
            clock: clock, log: Logger(level: .error, sink: { _ in }))
        clock.engine = engine
        defer { engine.closeAll() }
        let open = engine.requestInMemory(.get, query: "EIO=3&transport=polling")
        let session = try #require(engine.sessions.values.first)
        #expect(session.protocolVersion == .v3)
        #expect(open.body?.contains(":0{\"sid\":") == true)  // the open packet in the length-prefixed form
        for index in 0..<20 { session.send(.message(Array("2[\"m\",\(index)]".utf8))) }
        let first = engine.requestInMemory(.get, query: "EIO=3&transport=polling&sid=\(session.id)")
        let firstPackets = try EnginePacket.decodePollingPayloadV3(Array((first.body ?? "").utf8))
        #expect(firstPackets.count == EngineSession.maxPacketsPerPoll)
        let second = engine.requestInMemory(.get, query: "EIO=3&transport=polling&sid=\(session.id)")
        #expect(try EnginePacket.decodePollingPayloadV3(Array((second.body ?? "").utf8)).count == 4)
    }
}
