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
