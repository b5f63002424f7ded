import QuenchMessageQueue
import Testing

@testable import QuenchRedis

@Suite struct RESPParserTests {
    static let replies: [(String, RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("-ERR unknown command\r\n", .error("ERR unknown command")),
        (":42\r\n", .integer(42)),
        (":-1\r\n", .integer(-1)),
        ("$5\r\nhe\r\no\r\n", .bulkString(Array("he\r\no".utf8))),
        ("$0\r\n\r\n", .bulkString([])),
        ("$-1\r\n", .null),
        ("*-1\r\n", .null),
        ("*0\r\n", .array([])),
        (
            "*3\r\n$7\r\nmessage\r\n$8\r\nsocketio\r\n$2\r\n{}\r\n",
            .array([.bulkString(Array("message".utf8)), .bulkString(Array("socketio".utf8)), .bulkString(Array("{}".utf8))])
        ),
        ("*2\r\n*1\r\n:1\r\n$-1\r\n", .array([.array([.integer(1)]), .null])),
    ]

    @Test(arguments: replies.indices)
    func parsesWholeAndSplitAtEveryByte(_ index: Int) throws {
        let (wire, expected) = Self.replies[index]
        let bytes = Array(wire.utf8)
        for split in 0...bytes.count {
            var parser = RESPParser()
            parser.append(bytes[..<split])
            if split < bytes.count { #expect(try parser.next() == nil, "split \(split)") }
            parser.append(bytes[split...])
            #expect(try parser.next() == expected)
            #expect(try parser.next() == nil)
            #expect(parser.bufferedCount == 0)
        }
    }

    @Test func severalRepliesInOneRead() throws {
        var parser = RESPParser()
        parser.append(Array(":1\r\n:2\r\n+PONG\r\n:3".utf8))
        #expect(try parser.next() == .integer(1))
        #expect(try parser.next() == .integer(2))
        #expect(try parser.next() == .simpleString("PONG"))
        #expect(try parser.next() == nil)
        parser.append(Array("\r\n".utf8))
        #expect(try parser.next() == .integer(3))
    }

    @Test(arguments: ["?x\r\n", ":abc\r\n", "$3\r\nabcXY", "$999\r\n", "*-5\r\n", "$-2\r\n"])
    func rejectsWhatIsNotRESP(_ wire: String) {
        var parser = RESPParser(maxBulkLength: 100)
        parser.append(Array(wire.utf8))
        var failure: RESPError?
        do { _ = try parser.next() } catch { failure = error }
        #expect(failure != nil, "\(wire.debugDescription)")
    }

    private func failure(_ parser: inout RESPParser) -> RESPError? {
        do {
            while try parser.next() != nil {}
        } catch {
            return error
        }
        return nil
    }

    @Test func aLineAtTheCapPassesAndOneByteMoreFailsBeforeItsCRLFArrives() throws {
        var parser = RESPParser(maxLineLength: 10)
        parser.append(Array("+0123456789\r\n".utf8))
        #expect(try parser.next() == .simpleString("0123456789"))
        // No CRLF yet: the line is refused as soon as it passes the cap, not when (if ever) it ends. Its
        // 11th byte could still be the CR that ends it at 10; the 12th settles it.
        parser.append(Array("-0123456789A".utf8))
        #expect(try parser.next() == nil)
        parser.append(Array("B".utf8))
        #expect(failure(&parser) == RESPError("a line longer than 10 bytes without CRLF"))
    }

    @Test func aLineWithItsCRLFButOverTheCapFails() {
        var parser = RESPParser(maxLineLength: 10)
        parser.append(Array("+0123456789AB\r\n".utf8))
        #expect(failure(&parser) != nil)
    }

    @Test func theDefaultCapsAreStated() {
        let parser = RESPParser()
        #expect(parser.maxLineLength == 64 << 10)
        #expect(parser.maxBulkLength == 16 << 20)
        #expect(parser.maxArrayCount == 1024)
        #expect(parser.maxDepth == 8)
        #expect(parser.maxReplyBytes == (16 << 20) + (64 << 10))
    }

    @Test func aHundredMegabyteLineWithoutCRLFIsRefusedWithinTheCap() {
        var parser = RESPParser()
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 64 << 10)
        parser.append([UInt8(ascii: "+")])
        var fed = 1
        var refused: RESPError?
        while fed < 100_000_000, refused == nil {
            parser.append(chunk)
            fed += chunk.count
            refused = failure(&parser)
        }
        #expect(refused == RESPError("a line longer than 65536 bytes without CRLF"))
        #expect(fed <= 2 * (64 << 10) + 1)  // refused on the second chunk: nothing near 100 MB was held
    }

    @Test func bulkStringsUpToTheCapPassAndLargerOnesAreRefusedAtTheirHeader() throws {
        var parser = RESPParser(maxBulkLength: 16 << 20)
        let body = [UInt8](repeating: 7, count: 16 << 20)
        parser.append(Array("$\(body.count)\r\n".utf8))
        #expect(try parser.next() == nil)
        parser.append(body)
        parser.append(Array("\r\n".utf8))
        #expect(try parser.next() == .bulkString(body))
        parser.append(Array("$\((16 << 20) + 1)\r\n".utf8))  // refused before a byte of its body arrives
        #expect(failure(&parser) == RESPError("bulk string of 16777217 bytes (limit 16777216)"))
    }

    @Test func arraysPastTheCountOrTheDepthAreRefused() throws {
        var counted = RESPParser(maxArrayCount: 3)
        counted.append(Array("*3\r\n:1\r\n:2\r\n:3\r\n".utf8))
        #expect(try counted.next() == .array([.integer(1), .integer(2), .integer(3)]))
        counted.append(Array("*4\r\n".utf8))
        #expect(failure(&counted) == RESPError("array of 4 elements (limit 3)"))

        var nested = RESPParser(maxDepth: 2)
        nested.append(Array("*1\r\n*1\r\n:1\r\n".utf8))
        #expect(try nested.next() == .array([.array([.integer(1)])]))
        nested.append(Array("*1\r\n*1\r\n*1\r\n:1\r\n".utf8))
        #expect(failure(&nested) == RESPError("arrays nested deeper than 2"))
    }

    @Test func aReplyWhoseStringsTogetherPassTheBudgetIsRefused() throws {
        var parser = RESPParser(maxBulkLength: 10, maxReplyBytes: 15)
        parser.append(Array("*2\r\n$8\r\n12345678\r\n$7\r\n1234567\r\n".utf8))
        #expect(try parser.next() == .array([.bulkString(Array("12345678".utf8)), .bulkString(Array("1234567".utf8))]))
        parser.append(Array("*2\r\n$8\r\n12345678\r\n$8\r\n".utf8))  // the budget is per reply: 16 > 15
        #expect(failure(&parser) == RESPError("reply of more than 15 bytes of strings"))
    }

    @Test func anUnknownTypeByteIsRefusedAtOnce() {
        var parser = RESPParser()
        parser.append([UInt8(ascii: "?")])
        #expect(failure(&parser) == RESPError("unknown reply type byte 63"))
    }

    @Test func aBadIntegerIsQuotedEscaped() {
        var parser = RESPParser()
        parser.append(Array(":1\u{1b}[2J\r\n".utf8))
        #expect(failure(&parser) == RESPError("bad integer \"1\\x1b[2J\""))
    }

    /// A stream of pub/sub traffic as Redis sends it: subscribe reply, messages (one large), a pong.
    private static let stream: [UInt8] = {
        var wire = Array("*3\r\n$9\r\nsubscribe\r\n$8\r\nsocketio\r\n:1\r\n".utf8)
        for index in 0..<20 {
            let payload = Array("{\"method\":\"emit\",\"event\":\"e\(index)\"}".utf8)
            wire += Array("*3\r\n$7\r\nmessage\r\n$8\r\nsocketio\r\n$\(payload.count)\r\n".utf8) + payload + Array("\r\n".utf8)
        }
        let large = [UInt8](repeating: UInt8(ascii: "z"), count: 200_000)
        wire += Array("*3\r\n$7\r\nmessage\r\n$8\r\nsocketio\r\n$\(large.count)\r\n".utf8) + large + Array("\r\n".utf8)
        wire += Array("*2\r\n$4\r\npong\r\n$0\r\n\r\n+OK\r\n:7\r\n-ERR x\r\n$-1\r\n*-1\r\n".utf8)
        return wire
    }()

    private static func replies(feeding chunkSize: Int) throws -> (replies: [RESPValue], scanned: Int) {
        var parser = RESPParser()
        var replies: [RESPValue] = []
        var offset = 0
        while offset < stream.count {
            parser.append(stream[offset..<min(offset + chunkSize, stream.count)])
            offset += chunkSize
            while let reply = try parser.next() { replies.append(reply) }
        }
        #expect(parser.bufferedCount == 0)
        return (replies, parser.lineBytesScanned)
    }

    @Test func feedingByteByByteGivesTheSameRepliesAsFeedingAtOnce() throws {
        let whole = try Self.replies(feeding: Self.stream.count)
        #expect(whole.replies.count == 28)
        #expect(whole.replies[21] == .array([.bulkString(Array("message".utf8)), .bulkString(Array("socketio".utf8)), .bulkString([UInt8](repeating: UInt8(ascii: "z"), count: 200_000))]))
        for chunkSize in [1, 2, 3, 7, 4096] {
            let split = try Self.replies(feeding: chunkSize)
            #expect(split.replies == whole.replies, "chunks of \(chunkSize)")
            #expect(split.scanned == whole.scanned, "chunks of \(chunkSize): line bytes looked at again")
        }
    }

    @Test func aLongLineFedByteByByteIsScannedOnce() throws {
        var parser = RESPParser()
        let text = [UInt8](repeating: UInt8(ascii: "a"), count: 60_000)
        for byte in [UInt8(ascii: "+")] + text {
            parser.append([byte])
            #expect(try parser.next() == nil)
        }
        parser.append(Array("\r\n".utf8))
        #expect(try parser.next() == .simpleString(String(decoding: text, as: UTF8.self)))
        #expect(parser.lineBytesScanned == text.count)  // each byte once (the CR ends the scan)
    }

    @Test func encodesCommandsAsBulkStringArrays() {
        #expect(RESPCommand.encode("PUBLISH", "ch", "é") == Array("*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$2\r\né\r\n".utf8))
        #expect(RESPCommand.encode([]) == Array("*0\r\n".utf8))
    }
}

@Suite struct RetryBackoffTests {
    @Test func doublesFromHalfASecondToTenAndResets() {
        var backoff = RetryBackoff()
        let delays = (0..<8).map { _ in backoff.next() }
        #expect(delays == [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000])
        backoff.reset()
        #expect(backoff.next() == 500)
    }
}
