import Testing

@testable import SocketIO

@Suite("JSONWriter")
struct JSONWriterTests {
    private func write(_ value: JSONValue) -> String {
        var out: [UInt8] = []
        JSONWriter.append(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test(
        "golden output",
        arguments: [
            (JSONValue.null, "null"),
            (.bool(true), "true"),
            (.bool(false), "false"),
            (.int(0), "0"),
            (.int(7), "7"),
            (.int(-7), "-7"),
            (.int(10), "10"),
            (.int(9_007_199_254_740_993), "9007199254740993"),
            (.int(.max), "9223372036854775807"),
            (.int(.min), "-9223372036854775808"),
            (.double(1.5), "1.5"),
            (.double(-0.0), "-0.0"),
            (.double(0), "0.0"),
            (.double(100), "100.0"),
            (.double(0.1), "0.1"),
            (.double(1e300), "1e+300"),
            (.double(1e-5), "1e-05"),
            (.double(.leastNonzeroMagnitude), "5e-324"),
            (.double(1.7976931348623157e308), "1.7976931348623157e+308"),
            (.double(.infinity), "null"),
            (.double(-.infinity), "null"),
            (.double(.nan), "null"),
            (.binary([1, 2, 3]), "null"),
            (.string(""), #""""#),
            (.string("a/b"), #""a/b""#),
            (.string("\"\\"), #""\"\\""#),
            (.string("\n\r\t\u{08}\u{0C}"), #""\n\r\t\b\f""#),
            (.string("\u{0}\u{1}\u{1F} \u{7F}"), "\"\\u0000\\u0001\\u001f \u{7F}\""),
            (.string("é€😀"), "\"é€😀\""),
            (.string("\u{2028}"), "\"\u{2028}\""),
            ([], "[]"),
            (.object([]), "{}"),
            ([1, "a", nil, [true]], #"[1,"a",null,[true]]"#),
            (["b": 1, "a": ["x": .double(2.5)], "b\"": "q"], #"{"b":1,"a":{"x":2.5},"b\"":"q"}"#),
            ([.binary([0xFF]), ["k": .binary([])]], #"[null,{"k":null}]"#),
        ] as [(JSONValue, String)]
    )
    func golden(value: JSONValue, expected: String) {
        #expect(write(value) == expected)
    }

    @Test("exact bytes for non-ASCII and escapes")
    func bytes() {
        var out: [UInt8] = [0x41]
        JSONWriter.append(.string("é\u{1}"), to: &out)
        #expect(out == [0x41, 0x22, 0xC3, 0xA9, 0x5C, 0x75, 0x30, 0x30, 0x30, 0x31, 0x22])
    }

    @Test("appendString takes any StringProtocol")
    func appendString() {
        var out: [UInt8] = []
        let text = "xx\"yy"
        JSONWriter.appendString(text.dropFirst(), to: &out)
        JSONWriter.appendString("\t", to: &out)
        #expect(String(decoding: out, as: UTF8.self) == #""x\"yy""\t""#)
    }

    @Test("description is the compact JSON text, binaries shown by size")
    func description() {
        let value: JSONValue = ["a": [1, .binary([1, 2])], "b": "c"]
        #expect(value.description == #"{"a":[1,<binary 2 bytes>],"b":"c"}"#)
        #expect(JSONValue.array([1, 2.5, "x"]).description == #"[1,2.5,"x"]"#)
    }

    @Test("every escape the writer produces parses back, for every control and special byte")
    func allASCII() throws {
        let scalars = (0..<128).map { Character(Unicode.Scalar(UInt8($0))) }
        let text = String(scalars)
        let written = JSONWriter.encode(.string(text))
        #expect(try JSONParser.parse(written) == .string(text))
    }

    @Test("round trip over generated values", arguments: 0..<8)
    func roundTrip(seed: UInt64) throws {
        var random = SplitMix64(seed: seed &* 0x1234_5678 &+ 1)
        for _ in 0..<200 {
            let value = Self.generate(depth: 0, using: &random)
            let bytes = JSONWriter.encode(value)
            let parsed = try JSONParser.parse(bytes)
            #expect(parsed == value, "\(String(decoding: bytes, as: UTF8.self))")
            // Equality treats 0.0 and -0.0 alike; the bytes do not.
            #expect(JSONWriter.encode(parsed) == bytes)
        }
    }

    /// A random JSON value (no binaries, finite doubles) up to depth 5.
    static func generate(depth: Int, using random: inout SplitMix64) -> JSONValue {
        let pick = random.next() % (depth >= 5 ? 6 : 8)
        switch pick {
        case 0: return .null
        case 1: return .bool(random.next() % 2 == 0)
        case 2:
            switch random.next() % 3 {
            case 0: return .int(Int64(bitPattern: random.next()))
            case 1: return .int(Int64(random.next() % 2000) - 1000)
            default: return .int(random.next() % 2 == 0 ? .max : .min)
            }
        case 3:
            switch random.next() % 4 {
            case 0:
                var number = Double(bitPattern: random.next())
                while !number.isFinite { number = Double(bitPattern: random.next()) }
                return .double(number)
            case 1: return .double(Double(Int64(random.next() % 100_000) - 50_000) / 64)
            case 2: return .double([0.0, -0.0, 0.1, 1e300, .leastNonzeroMagnitude, 1e21, 1e22, 123.0, 9_007_199_254_740_992][Int(random.next() % 9)])
            default: return .double(Double(random.next() % 1_000_000) * 1e-7)
            }
        case 4, 5:
            return .string(generateString(using: &random))
        case 6:
            let count = Int(random.next() % 5)
            return .array((0..<count).map { _ in generate(depth: depth + 1, using: &random) })
        default:
            let count = Int(random.next() % 5)
            return .object((0..<count).map { _ in JSONMember(generateString(using: &random), generate(depth: depth + 1, using: &random)) })
        }
    }

    static func generateString(using random: inout SplitMix64) -> String {
        let pool: [Unicode.Scalar] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\u{0}", "\u{1F}", "\u{7F}", "é", "€", "😀", "\u{FFFD}", "\u{10FFFF}", "\u{2028}"]
        var string = ""
        for _ in 0..<Int(random.next() % 12) {
            if random.next() % 4 == 0 {
                // Any scalar, skipping the surrogate range.
                var value = UInt32(random.next() % 0x110000)
                if (0xD800...0xDFFF).contains(value) { value = 0xE000 }
                string.unicodeScalars.append(Unicode.Scalar(value)!)
            } else {
                string.unicodeScalars.append(pool[Int(random.next() % UInt64(pool.count))])
            }
        }
        return string
    }
}

@Suite("JSONStringScan")
struct JSONStringScanTests {
    private static func isSpecial(_ byte: UInt8) -> Bool { byte < 0x20 || byte == 0x22 || byte == 0x5C }

    @Test("a word has a special byte exactly when one of its bytes is special, for every byte value and place")
    func everyByteEverywhere() {
        for filler in [UInt8(ascii: "a"), 0x20, 0x7F, 0x80, 0xFF, 0x21, 0x5D, 0x23] {
            for place in 0..<8 {
                for value in 0...255 {
                    var bytes = [UInt8](repeating: filler, count: 8)
                    bytes[place] = UInt8(value)
                    let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                    #expect(JSONStringScan.hasSpecialByte(word) == bytes.contains(where: Self.isSpecial), "\(bytes)")
                }
            }
        }
    }

    @Test("firstSpecial and hasNonASCII agree with a byte-by-byte scan on random buffers")
    func randomBuffers() {
        var random = SplitMix64(seed: 99)
        for _ in 0..<2000 {
            let count = Int(random.next() % 40)
            let bytes = (0..<count).map { _ in
                // Mostly plain text, sometimes anything.
                random.next() % 8 == 0 ? UInt8(truncatingIfNeeded: random.next()) : UInt8(0x20 + random.next() % 95)
            }
            let start = count == 0 ? 0 : Int(random.next() % UInt64(count))
            bytes.withUnsafeBufferPointer { buffer in
                let expected = bytes[start...].firstIndex(where: Self.isSpecial) ?? count
                #expect(JSONStringScan.firstSpecial(in: buffer, from: start) == expected, "\(bytes) from \(start)")
                #expect(JSONStringScan.hasNonASCII(buffer) == bytes.contains { $0 >= 0x80 })
            }
        }
    }
}
