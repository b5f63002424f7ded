import EngineIO
import Testing

@testable import QuenchMessageQueue

/// Both forms of the messages between nodes' engines: every kind survives each, the one decoder reads both,
/// and the compact form refuses what the JSON form refuses and anything cut short or overlong.
@Suite struct NodeMessageCodecTests {
    private static let tag = "0123456789ab"
    private static let sid = "0123456789abABCDEFGHIJ-_klmnopqrst"

    private static let messages: [NodeMessage] = [
        .request(
            id: 1, from: tag,
            ForwardedRequest(
                method: .get, query: QueryParameters(decoded: [("EIO", "4"), ("transport", "polling"), ("sid", sid)]), origin: nil,
                peer: "127.0.0.1", body: [], hops: 1)),
        .request(
            id: 1 << 40, from: tag,
            ForwardedRequest(
                method: .post, query: QueryParameters(decoded: [("sid", sid), ("é", "\u{0}")]), origin: "https://example.com",
                peer: "[::1]:5000", body: Array("4{\"é\":1}\u{1e}2probe".utf8), hops: 2)),
        .response(
            id: 300, HTTPResponse(status: 200, contentType: "text/plain; charset=UTF-8", headers: [HTTPHeader("Cache-Control", "no-store")], body: Array("ok".utf8))),
        .response(id: 0, HTTPResponse(status: 400, contentType: "application/json", headers: [], body: [0x00, 0xFF, 0x80])),
        .held(id: 127),
        .abandoned(id: 128, from: tag),
        .moveRequest(id: 16_384, from: tag, sid: sid),
        .moveAnswer(id: 5, nil, reason: "no such session here"),
        .moveAnswer(
            id: 6,
            MovedSession(
                sid: sid, peer: "10.0.0.1", transport: TransportName("polling"),
                queued: [EnginePacket(.message, Array("42[\"x\"]".utf8)), EnginePacket(.message, [1, 2, 3], isBinary: true), EnginePacket(.ping, [])],
                state: [0, 1, 2, 255]),
            reason: ""),
        .upper(from: tag, [0xDE, 0xAD]),
    ]

    @Test func everyKindSurvivesBothForms() throws {
        for message in Self.messages {
            #expect(try NodeMessageCodec.decode(NodeMessageCodec.encode(message)) == message)
            let compact = NodeMessageCodec.encodeCompact(message)
            #expect(compact.first == NodeMessageBinary.magic)
            #expect(try NodeMessageCodec.decode(compact) == message)
        }
    }

    @Test func theCompactFormIsSmaller() {
        for message in Self.messages {
            #expect(NodeMessageCodec.encodeCompact(message).count < NodeMessageCodec.encode(message).count, "\(message)")
        }
    }

    @Test func everyCutShortOrOverlongCompactMessageIsRefused() {
        for message in Self.messages {
            let compact = NodeMessageCodec.encodeCompact(message)
            for length in 0..<compact.count {
                #expect(throws: NodeMessageError.self) { try NodeMessageCodec.decode(Array(compact.prefix(length))) }
            }
            #expect(throws: NodeMessageError.self) { try NodeMessageCodec.decode(compact + [0]) }
        }
    }

    @Test func theCompactFormChecksWhatJSONChecks() {
        func refused(_ message: NodeMessage) {
            #expect(throws: NodeMessageError.self, "\(message)") { try NodeMessageCodec.decode(NodeMessageCodec.encodeCompact(message)) }
            #expect(throws: NodeMessageError.self, "\(message)") { try NodeMessageCodec.decode(NodeMessageCodec.encode(message)) }
        }
        let request = ForwardedRequest(method: .get, query: QueryParameters(decoded: []), origin: nil, peer: "127.0.0.1", body: [], hops: 1)
        refused(.abandoned(id: 1, from: "0123456789AB"))  // a tag is lowercase hex
        refused(.abandoned(id: 1, from: "0123"))
        refused(.moveRequest(id: 1, from: Self.tag, sid: "a sid"))
        refused(.request(id: 1, from: Self.tag, ForwardedRequest(method: .options, query: request.query, origin: nil, peer: "127.0.0.1", body: [], hops: 1)))
        refused(.request(id: 1, from: Self.tag, ForwardedRequest(method: .get, query: request.query, origin: nil, peer: "127.0.0.1", body: [], hops: 3)))
        refused(.request(id: 1, from: Self.tag, ForwardedRequest(method: .get, query: request.query, origin: nil, peer: "1.2.3.4\r\nX: y", body: [], hops: 1)))
        refused(.response(id: 1, HTTPResponse(status: 99, contentType: "text/plain", headers: [], body: [])))
        refused(.response(id: 1, HTTPResponse(status: 200, contentType: "text/plain", headers: [HTTPHeader("X-A", "b\r\nSet-Cookie: c")], body: [])))
        refused(.response(id: 1, HTTPResponse(status: 200, contentType: "text/plain\n", headers: [], body: [])))
    }

    @Test func forgedCountsAndNumbersAreRefusedBeforeAnyAllocation() throws {
        // A query count of 2^62 in a message of a few bytes, a body length past the end, a number of 11 bytes.
        let hugeCount: [UInt8] = [NodeMessageBinary.magic, 1, 1, 12] + Array(Self.tag.utf8) + [0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]
        let longBody: [UInt8] = [NodeMessageBinary.magic, 7, 0, 12] + Array(Self.tag.utf8) + [0x7F, 1, 2]
        let longNumber: [UInt8] = [NodeMessageBinary.magic, 3] + Array(repeating: 0xFF, count: 10) + [0x01]
        let pastSixtyFourBits: [UInt8] = [NodeMessageBinary.magic, 3] + Array(repeating: 0xFF, count: 9) + [0x02]
        for bytes in [hugeCount, longBody, longNumber, pastSixtyFourBits, [NodeMessageBinary.magic, 0, 0], [NodeMessageBinary.magic, 8, 0]] {
            #expect(throws: NodeMessageError.self) { try NodeMessageCodec.decode(bytes) }
        }
        // Ids stay within what the JSON form carries (a signed 64-bit number), so either form carries any message.
        #expect(throws: NodeMessageError.self) { try NodeMessageCodec.decode([NodeMessageBinary.magic, 3] + Array(repeating: 0xFF, count: 9) + [0x01]) }
        #expect(try NodeMessageCodec.decode([NodeMessageBinary.magic, 3] + Array(repeating: 0xFF, count: 8) + [0x7F]) == .held(id: UInt64(Int64.max)))
    }
}
