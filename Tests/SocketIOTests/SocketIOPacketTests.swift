import Testing

@testable import SocketIO

@Suite("SocketIOPacket")
struct SocketIOPacketTests {
    private static let placeholder0: JSONValue = ["_placeholder": true, "num": 0]
    private static let placeholder1: JSONValue = ["_placeholder": true, "num": 1]

    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    private func decodeError(_ text: String) -> SocketIOPacketError? {
        decodeError(Array(text.utf8))
    }

    private func decodeError(_ bytes: [UInt8]) -> SocketIOPacketError? {
        do {
            let packet = try SocketIOPacket.decode(bytes)
            Issue.record("decoded \(packet)")
            return nil
        } catch {
            return error
        }
    }

    /// Packets whose encoding is exactly the text and whose decoding is exactly the packet.
    static let golden: [(SocketIOPacket, String)] = [
        (SocketIOPacket(type: .connect), "0"),
        (SocketIOPacket(type: .connect, namespace: "/admin"), "0/admin,"),
        (SocketIOPacket(type: .connect, data: ["token": "123"]), #"0{"token":"123"}"#),
        (SocketIOPacket(type: .connect, namespace: "/admin", data: ["token": "123"]), #"0/admin,{"token":"123"}"#),
        (SocketIOPacket(type: .connect, data: ["sid": "oSO0OpakMV_3jnilAAAA"]), #"0{"sid":"oSO0OpakMV_3jnilAAAA"}"#),
        (SocketIOPacket(type: .disconnect), "1"),
        (SocketIOPacket(type: .disconnect, namespace: "/admin"), "1/admin,"),
        (SocketIOPacket(type: .event, data: ["foo"]), #"2["foo"]"#),
        (SocketIOPacket(type: .event, data: ["hello", 1]), #"2["hello",1]"#),
        (SocketIOPacket(type: .event, data: ["f-o-o"]), #"2["f-o-o"]"#),
        (SocketIOPacket(type: .event, namespace: "/bar", data: ["foo"]), #"2/bar,["foo"]"#),
        (SocketIOPacket(type: .event, namespace: "/b-a-r", data: ["foo"]), #"2/b-a-r,["foo"]"#),
        (SocketIOPacket(type: .event, ackID: 123, data: ["foo"]), #"2123["foo"]"#),
        (SocketIOPacket(type: .event, namespace: "/bar", ackID: 123, data: ["foo"]), #"2/bar,123["foo"]"#),
        (SocketIOPacket(type: .event, ackID: 0, data: ["foo"]), #"20["foo"]"#),
        (
            SocketIOPacket(type: .event, ackID: 999_999_999_999_999, data: ["foo"]),
            #"2999999999999999["foo"]"#
        ),
        (
            SocketIOPacket(type: .event, namespace: "/admin", data: ["project:delete", 123, ["a": [1, 2]]]),
            #"2/admin,["project:delete",123,{"a":[1,2]}]"#
        ),
        (SocketIOPacket(type: .event, data: ["héllo", "😀", "日本"]), "2[\"héllo\",\"😀\",\"日本\"]"),
        (SocketIOPacket(type: .event, namespace: "/ñ", data: ["x"]), "2/ñ,[\"x\"]"),
        (SocketIOPacket(type: .event, data: ["e", "a\"b\\c\n\t/\u{1}"]), #"2["e","a\"b\\c\n\t/\u0001"]"#),
        (
            SocketIOPacket(type: .event, data: ["n", 0, -1, 1.5, .double(-0.0), 1e300, 9_007_199_254_740_993]),
            #"2["n",0,-1,1.5,-0.0,1e+300,9007199254740993]"#
        ),
        (SocketIOPacket(type: .event, data: ["n", .double(18_446_744_073_709_551_616)]), #"2["n",1.8446744073709552e+19]"#),
        (SocketIOPacket(type: .event, data: ["x", nil, true, false, [], .object([])]), #"2["x",null,true,false,[],{}]"#),
        (SocketIOPacket(type: .ack, ackID: 12, data: []), "312[]"),
        (SocketIOPacket(type: .ack, namespace: "/admin", ackID: 13, data: ["bar"]), #"3/admin,13["bar"]"#),
        (SocketIOPacket(type: .connectError, data: ["message": "Not authorized"]), #"4{"message":"Not authorized"}"#),
        (
            SocketIOPacket(type: .connectError, namespace: "/admin", data: ["message": "Invalid namespace"]),
            #"4/admin,{"message":"Invalid namespace"}"#
        ),
    ]

    @Test("golden encodings", arguments: golden)
    func encode(packet: SocketIOPacket, expected: String) {
        let (bytes, attachments) = packet.encode()
        #expect(bytes == Array(expected.utf8))
        #expect(attachments.isEmpty)
        #expect(packet.encodedText == expected)
    }

    @Test("golden decodings", arguments: golden)
    func decode(expected: SocketIOPacket, text: String) throws {
        #expect(try SocketIOPacket.decode(Array(text.utf8)) == expected)
        #expect(try SocketIOPacket.decode(text) == expected)
        #expect(try SocketIOPacket.decode(text.utf8) == expected)
    }

    @Test(
        "decodings the encoder does not produce",
        arguments: [
            ("0/admin", SocketIOPacket(type: .connect, namespace: "/admin")),
            ("1/admin", SocketIOPacket(type: .disconnect, namespace: "/admin")),
            (#"2/,["a"]"#, SocketIOPacket(type: .event, data: ["a"])),
            (#"2012["a"]"#, SocketIOPacket(type: .event, ackID: 12, data: ["a"])),
            ("2 [ \"a\" ] \n", SocketIOPacket(type: .event, data: ["a"])),
            (#"4"Unable to connect""#, SocketIOPacket(type: .connectError, data: "Unable to connect")),
            (#"4/admin,"Unable""#, SocketIOPacket(type: .connectError, namespace: "/admin", data: "Unable")),
            (#"2["a\u00e9\ud83d\ude00"]"#, SocketIOPacket(type: .event, data: ["aé😀"])),
            (#"2/chat?x=1,["a"]"#, SocketIOPacket(type: .event, namespace: "/chat?x=1", data: ["a"])),
            (#"2/a-b,["c-d"]"#, SocketIOPacket(type: .event, namespace: "/a-b", data: ["c-d"])),
            (#"2["x",-0]"#, SocketIOPacket(type: .event, data: ["x", .double(-0.0)])),
            (#"2["x",1e300,1E2]"#, SocketIOPacket(type: .event, data: ["x", 1e300, 100.0])),
        ] as [(String, SocketIOPacket)]
    )
    func decodeOnly(text: String, expected: SocketIOPacket) throws {
        #expect(try SocketIOPacket.decode(text) == expected)
    }

    @Test("an ArraySlice decodes in place")
    func decodeSlice() throws {
        let frame = Array("xx2[\"a\"]".utf8)
        #expect(try SocketIOPacket.decode(frame[2...]) == SocketIOPacket(type: .event, data: ["a"]))
    }

    // MARK: Binary

    @Test("binary event with one attachment")
    func encodeBinaryOne() throws {
        let packet = SocketIOPacket(type: .event, data: ["hello", .binary([1, 2, 3])])
        let (bytes, attachments) = packet.encode()
        #expect(text(bytes) == #"51-["hello",{"_placeholder":true,"num":0}]"#)
        #expect(attachments == [[1, 2, 3]])

        let decoded = try SocketIOPacket.decode(bytes)
        #expect(decoded == SocketIOPacket(type: .binaryEvent, data: ["hello", Self.placeholder0], attachmentCount: 1))
        let rebuilt = try decoded.reconstructingBinary(attachments)
        #expect(rebuilt.data == packet.data)
        #expect(rebuilt.type == .binaryEvent)
    }

    @Test("binary event with two attachments, namespace and ack id")
    func encodeBinaryTwo() throws {
        let packet = SocketIOPacket(
            type: .event,
            namespace: "/admin",
            ackID: 456,
            data: ["upload", ["a": "123", "b": .binary([4, 5, 6]), "c": [.binary([7, 8, 9]), 123]]]
        )
        let (bytes, attachments) = packet.encode()
        #expect(
            text(bytes)
                == #"52-/admin,456["upload",{"a":"123","b":{"_placeholder":true,"num":0},"c":[{"_placeholder":true,"num":1},123]}]"#
        )
        #expect(attachments == [[4, 5, 6], [7, 8, 9]])
        let decoded = try SocketIOPacket.decode(bytes)
        #expect(decoded.type == .binaryEvent)
        #expect(decoded.namespace == "/admin")
        #expect(decoded.ackID == 456)
        #expect(decoded.attachmentCount == 2)
        #expect(try decoded.reconstructingBinary(attachments).data == packet.data)
    }

    @Test("binary ack")
    func encodeBinaryAck() throws {
        let packet = SocketIOPacket(type: .ack, namespace: "/admin", ackID: 456, data: [.binary([0xFF, 0x00])])
        let (bytes, attachments) = packet.encode()
        #expect(text(bytes) == #"61-/admin,456[{"_placeholder":true,"num":0}]"#)
        #expect(attachments == [[0xFF, 0x00]])
        let decoded = try SocketIOPacket.decode(bytes)
        #expect(decoded == SocketIOPacket(type: .binaryAck, namespace: "/admin", ackID: 456, data: [Self.placeholder0], attachmentCount: 1))
    }

    @Test("the encoder picks the type from the data, not from the declared type")
    func typeNormalization() {
        let textual = SocketIOPacket(type: .binaryEvent, data: ["a"], attachmentCount: 3).encode()
        #expect(text(textual.text) == #"2["a"]"#)
        #expect(textual.attachments.isEmpty)
        let textualAck = SocketIOPacket(type: .binaryAck, ackID: 1, data: [1]).encode()
        #expect(text(textualAck.text) == "31[1]")
        let binaryAck = SocketIOPacket(type: .binaryAck, ackID: 1, data: [.binary([])]).encode()
        #expect(text(binaryAck.text) == #"61-1[{"_placeholder":true,"num":0}]"#)
        #expect(binaryAck.attachments == [[]])
    }

    @Test("binaries where no attachments are allowed are written as null")
    func binaryInConnect() {
        let (bytes, attachments) = SocketIOPacket(type: .connect, data: ["k": .binary([1])]).encode()
        #expect(text(bytes) == #"0{"k":null}"#)
        #expect(attachments.isEmpty)
    }

    @Test("a namespace without a leading slash gets one; an empty one is the main namespace")
    func namespaceNormalization() {
        #expect(SocketIOPacket(type: .connect, namespace: "admin").encodedText == "0/admin,")
        #expect(SocketIOPacket(type: .connect, namespace: "").encodedText == "0")
    }

    @Test("ten attachments: a two-digit count")
    func manyAttachments() throws {
        let blobs = (0..<10).map { [UInt8]([UInt8($0)]) }
        let packet = SocketIOPacket(type: .event, data: .array(["many"] + blobs.map(JSONValue.binary)))
        let (bytes, attachments) = packet.encode()
        #expect(text(bytes).hasPrefix(#"510-["many",{"_placeholder":true,"num":0},"#))
        #expect(text(bytes).hasSuffix(#"{"_placeholder":true,"num":9}]"#))
        #expect(attachments == blobs)
        let decoded = try SocketIOPacket.decode(bytes)
        #expect(decoded.attachmentCount == 10)
        #expect(try decoded.reconstructingBinary(attachments) == SocketIOPacket(type: .binaryEvent, data: packet.data, attachmentCount: 10))
    }

    @Test("reconstructing with the wrong number of attachments")
    func reconstructCount() throws {
        let decoded = try SocketIOPacket.decode(#"51-["a",{"_placeholder":true,"num":0}]"#)
        #expect(throws: SocketIOPacketError.self) { try decoded.reconstructingBinary([]) }
        #expect(throws: SocketIOPacketError.self) { try decoded.reconstructingBinary([[1], [2]]) }
        let error = #expect(throws: SocketIOPacketError.self) { try decoded.reconstructingBinary([[1], [2]]) }
        #expect(error?.code == .attachmentMismatch)
    }

    // MARK: Rejections

    @Test(
        "rejected frames",
        arguments: [
            ("", SocketIOPacketError.Code.emptyPacket),
            ("7", .unknownType),
            ("9[\"a\"]", .unknownType),
            ("a", .unknownType),
            ("-1", .unknownType),
            (#"{"a":1}"#, .unknownType),
            // namespace
            ("0admin,{}", .invalidNamespace),
            (#"2admin,["a"]"#, .invalidNamespace),
            // attachments
            (#"21-["a"]"#, .unexpectedAttachments),
            (#"2-["a"]"#, .unexpectedAttachments),
            (#"31-1["a"]"#, .unexpectedAttachments),
            ("01-{}", .unexpectedAttachments),
            (#"2/admin,1-["a"]"#, .unexpectedAttachments),
            (#"5["a"]"#, .invalidAttachmentCount),
            (#"5-["a"]"#, .invalidAttachmentCount),
            (#"51["a"]"#, .invalidAttachmentCount),
            ("51", .invalidAttachmentCount),
            ("5", .invalidAttachmentCount),
            (#"51001-["a"]"#, .invalidAttachmentCount),
            (#"5101-["a"]"#, .invalidAttachmentCount),  // one past maxAttachments
            (#"611111111111-{"a":"123"}"#, .invalidAttachmentCount),
            (#"6{"a":"0123456789-"}"#, .invalidAttachmentCount),
            (#"5100-["a"]"#, .attachmentMismatch),  // maxAttachments itself passes the count check
            // ack id
            (#"21234567890123456["a"]"#, .invalidAckID),
            (#"2/admin,99999999999999999999["a"]"#, .invalidAckID),
            ("01{}", .unexpectedAckID),
            ("11", .unexpectedAckID),
            (#"41{"message":"x"}"#, .unexpectedAckID),
            (#"3["a"]"#, .missingAckID),
            (#"3/admin,["a"]"#, .missingAckID),
            // JSON
            (#"2["a""#, .invalidJSON),
            (#"2["a",]"#, .invalidJSON),
            (#"2["a"]x"#, .invalidJSON),
            (#"2["a"]["b"]"#, .invalidJSON),
            (#"2['a']"#, .invalidJSON),
            (#"2[NaN]"#, .invalidJSON),
            (#"0{"a":1"#, .invalidJSON),
            ("1 ", .invalidJSON),
            // payload shape
            ("2", .invalidPayload),
            ("2/admin,", .invalidPayload),
            ("212", .invalidPayload),
            ("2[]", .invalidPayload),
            ("2[1]", .invalidPayload),
            ("2[null]", .invalidPayload),
            (#"2{"a":1}"#, .invalidPayload),
            (#"2"a""#, .invalidPayload),
            (#"51-{"_placeholder":true,"num":0}"#, .invalidPayload),
            ("312", .invalidPayload),
            ("312{}", .invalidPayload),
            (#"312"a""#, .invalidPayload),
            ("0[]", .invalidPayload),
            (#"0"x""#, .invalidPayload),
            ("0null", .invalidPayload),
            ("01", .unexpectedAckID),
            ("4", .invalidPayload),
            ("4/admin,", .invalidPayload),
            ("4[]", .invalidPayload),
            ("4null", .invalidPayload),
            ("1{}", .invalidPayload),
            ("1/admin,{}", .invalidPayload),
            ("1null", .invalidPayload),
            // placeholders against the declared count
            (#"52-["a",{"_placeholder":true,"num":0}]"#, .attachmentMismatch),
            (#"50-["a",{"_placeholder":true,"num":0}]"#, .invalidPlaceholder),
            (#"51-["a",{"_placeholder":true,"num":1}]"#, .invalidPlaceholder),
            (#"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]"#, .invalidPlaceholder),
            (#"51-["a",{"_placeholder":true,"num":"0"}]"#, .invalidPlaceholder),
            (#"61-1[{"_placeholder":true}]"#, .invalidPlaceholder),
        ] as [(String, SocketIOPacketError.Code)]
    )
    func rejected(text: String, code: SocketIOPacketError.Code) {
        #expect(decodeError(text)?.code == code)
    }

    @Test("a namespace that is not UTF-8")
    func namespaceNotUTF8() {
        let frame: [UInt8] = [0x32, 0x2F, 0xFF, 0x2C, 0x5B, 0x22, 0x61, 0x22, 0x5D]
        #expect(decodeError(frame)?.code == .invalidNamespace)
    }

    @Test("invalid UTF-8 inside the data")
    func dataNotUTF8() {
        let frame: [UInt8] = [0x32, 0x5B, 0x22, 0xC3, 0x22, 0x5D]
        let error = decodeError(frame)
        #expect(error?.code == .invalidJSON)
        #expect(error?.description == "invalid JSON: invalid UTF-8 0xC3 at byte 3")
    }

    @Test("hostile nesting in the data")
    func deepData() {
        let frame = "2[\"a\"," + String(repeating: "[", count: 100_000)
        let error = decodeError(frame)
        #expect(error?.code == .invalidJSON)
        #expect(error?.description.hasPrefix("invalid JSON: nesting too deep at byte") == true)
    }

    @Test("error descriptions name the cause with offsets from the frame start")
    func descriptions() {
        #expect(decodeError(#"2["a"x"#)?.description == "invalid JSON: unexpected character 'x' at byte 5")
        #expect(decodeError("")?.description == "empty packet")
        #expect(decodeError(#"3["a"]"#)?.description == "ack packet without ack id")
    }

    @Test("encode then decode is the identity for generated events")
    func roundTrip() throws {
        var random = SplitMix64(seed: 42)
        for index in 0..<300 {
            var arguments: [JSONValue] = [.string(JSONWriterTests.generateString(using: &random))]
            for _ in 0..<Int(random.next() % 4) {
                arguments.append(JSONWriterTests.generate(depth: 1, using: &random))
            }
            let namespace = index % 3 == 0 ? "/" : "/ns\(index)"
            let ackID: UInt64? = index % 2 == 0 ? nil : random.next() % 1_000_000_000_000_000
            let packet = SocketIOPacket(type: .event, namespace: namespace, ackID: ackID, data: .array(arguments))
            let (bytes, attachments) = packet.encode()
            #expect(attachments.isEmpty)
            #expect(try SocketIOPacket.decode(bytes) == packet, "\(text(bytes))")
        }
    }

    @Test("an event encoded from its parts is the event packet's encoding, binaries included")
    func eventFromParts() {
        var random = SplitMix64(seed: 7)
        for index in 0..<300 {
            let name = JSONWriterTests.generateString(using: &random)
            var arguments: [JSONValue] = []
            for _ in 0..<Int(random.next() % 4) {
                arguments.append(JSONWriterTests.generate(depth: 2, using: &random))
            }
            if index % 5 == 0 { arguments.append(.object([JSONMember("blob", .binary([UInt8(index % 256), 1]))])) }
            let namespace = index % 3 == 0 ? "/" : "/ns\(index)"
            let ackID: UInt64? = index % 2 == 0 ? nil : random.next() % 1_000_000
            let whole = SocketIOPacket.event(name, arguments, namespace: namespace, ackID: ackID).encode()
            let parts = SocketIOPacket.encodeEvent(name, arguments, namespace: namespace, ackID: ackID)
            #expect(parts.text == whole.text, "\(text(parts.text)) vs \(text(whole.text))")
            #expect(parts.attachments == whole.attachments)
            #expect((whole.text.first == UInt8(ascii: "5")) == (index % 5 == 0))
        }
    }

    @Test("event helpers")
    func helpers() {
        let packet = SocketIOPacket.event("chat", ["hi", 2], namespace: "/n", ackID: 5)
        #expect(packet.encodedText == #"2/n,5["chat","hi",2]"#)
        #expect(packet.eventName == "chat")
        #expect(Array(packet.arguments) == ["hi", 2])
        let ack = SocketIOPacket(type: .ack, ackID: 5, data: ["ok"])
        #expect(ack.eventName == nil)
        #expect(Array(ack.arguments) == ["ok"])
    }
}
