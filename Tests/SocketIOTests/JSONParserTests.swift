import Testing

@testable import SocketIO

@Suite("JSONParser")
struct JSONParserTests {
    private func parse(_ text: String) throws(JSONError) -> JSONValue {
        try JSONParser.parse(Array(text.utf8))
    }

    private func parseError(_ bytes: [UInt8]) -> JSONError? {
        do {
            _ = try JSONParser.parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    // MARK: Accepted input

    @Test(
        "scalars and numbers",
        arguments: [
            ("null", JSONValue.null),
            ("true", .bool(true)),
            ("false", .bool(false)),
            (" \t\r\n true \n", .bool(true)),
            ("0", .int(0)),
            ("-1", .int(-1)),
            ("42", .int(42)),
            ("1.5", .double(1.5)),
            ("-1.5e3", .double(-1500)),
            ("1E2", .double(100)),
            ("1e+2", .double(100)),
            ("25e-1", .double(2.5)),
            ("0.1", .double(0.1)),
            ("0.30000000000000004", .double(0.30000000000000004)),
            ("1e300", .double(1e300)),
            ("1e-05", .double(1e-5)),
            ("1.7976931348623157e308", .double(1.7976931348623157e308)),
            ("2.2250738585072014e-308", .double(2.2250738585072014e-308)),
            ("5e-324", .double(.leastNonzeroMagnitude)),
            ("4.9406564584124654e-324", .double(.leastNonzeroMagnitude)),
            ("1e-400", .double(0)),
            ("9007199254740993", .int(9_007_199_254_740_993)),
            ("-9007199254740993", .int(-9_007_199_254_740_993)),
            ("9223372036854775807", .int(.max)),
            ("-9223372036854775808", .int(.min)),
            ("9223372036854775808", .double(9_223_372_036_854_775_808)),
            ("-9223372036854775809", .double(-9_223_372_036_854_775_808)),
            ("18446744073709551616", .double(18_446_744_073_709_551_616)),
            ("123456789012345678901234567890", .double(1.2345678901234568e29)),
            ("1.00000000000000000000000001", .double(1)),
            ("0.000000000000000000000000000001", .double(1e-30)),
            ("100.0", .double(100)),
        ] as [(String, JSONValue)]
    )
    func scalars(text: String, expected: JSONValue) throws {
        #expect(try parse(text) == expected)
    }

    @Test("-0 keeps its sign as a double")
    func negativeZero() throws {
        let value = try parse("-0")
        guard case .double(let number) = value else {
            Issue.record("expected .double, got \(value)")
            return
        }
        #expect(number == 0 && number.sign == .minus)
        #expect(try parse("0") == .int(0))
        let fraction = try parse("-0.0")
        #expect(fraction == .double(-0.0))
        if case .double(let number) = fraction { #expect(number.sign == .minus) }
    }

    @Test("numbers beyond Double's range become infinity, as in JavaScript")
    func hugeNumbers() throws {
        #expect(try parse("1e400") == .double(.infinity))
        #expect(try parse("-1e400") == .double(-.infinity))
    }

    @Test(
        "strings",
        arguments: [
            (#""""#, ""),
            (#""abc""#, "abc"),
            (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{08}\u{0C}\n\r\t"),
            (#""a\u0000b""#, "a\u{0}b"),
            (#""\u00e9\u00E9""#, "éé"),
            (#""\u20AC""#, "€"),
            ("\"é€😀\"", "é€😀"),
            (#""\uD83D\uDE00""#, "😀"),
            (#""x\ud83d\ude00y""#, "x😀y"),
            (#""\uD83D""#, "\u{FFFD}"),
            (#""\uDE00""#, "\u{FFFD}"),
            (#""\uD83Dx""#, "\u{FFFD}x"),
            (#""\uD83D\u0041""#, "\u{FFFD}A"),
            (#""\uD83D\uD83D\uDE00""#, "\u{FFFD}😀"),
            (#""\uDE00\uD83D""#, "\u{FFFD}\u{FFFD}"),
            ("\"é\\n€\"", "é\n€"),
            ("\"\u{7F}\"", "\u{7F}"),
        ] as [(String, String)]
    )
    func strings(text: String, expected: String) throws {
        #expect(try parse(text) == .string(expected))
    }

    @Test("arrays and objects keep wire order and duplicates")
    func containers() throws {
        let value = try parse(#" { "b" : [1, 2.5, "x", null, true, {}, []] , "a":{"n":-3}, "b": false } "#)
        let expected: JSONValue = .object([
            JSONMember("b", [1, 2.5, "x", nil, true, .object([]), []]),
            JSONMember("a", ["n": -3]),
            JSONMember("b", false),
        ])
        #expect(value == expected)
        #expect(value["b"] == .bool(false))
        #expect(value["a"]?["n"] == .int(-3))
        #expect(value["missing"] == nil)
        #expect(value[0] == nil)
        #expect(try parse("[[],[[]],{}]") == [[], [[]], .object([])])
    }

    @Test("exactly maxDepth levels parse; one more throws")
    func depthLimit() throws {
        let depth = JSONParser.maxDepth
        let ok = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        var value = try parse(ok)
        for _ in 1..<depth {
            value = value[0] ?? .null
        }
        #expect(value == [])

        let tooDeep = String(repeating: "[", count: depth + 1) + String(repeating: "]", count: depth + 1)
        let error = parseError(Array(tooDeep.utf8))
        #expect(error == JSONError(.nestingTooDeep, at: depth))
    }

    @Test("hostile nesting throws instead of overflowing the stack")
    func hostileNesting() {
        #expect(parseError([UInt8](repeating: UInt8(ascii: "["), count: 100_000))?.code == .nestingTooDeep)
        let objects = Array(String(repeating: #"{"a":"#, count: 100_000).utf8)
        #expect(parseError(objects)?.code == .nestingTooDeep)
        let mixed = Array(String(repeating: #"[{"k":"#, count: 50_000).utf8)
        #expect(parseError(mixed)?.code == .nestingTooDeep)
    }

    // MARK: Rejected input

    @Test(
        "syntax errors carry code and offset",
        arguments: [
            ("", JSONError.Code.unexpectedEnd, 0),
            ("   ", .unexpectedEnd, 3),
            ("nul", .unexpectedEnd, 3),
            ("nulx", .unexpectedCharacter, 3),
            ("True", .unexpectedCharacter, 0),
            ("[1,]", .unexpectedCharacter, 3),
            (#"{"a":1,}"#, .unexpectedCharacter, 7),
            ("[1 2]", .unexpectedCharacter, 3),
            ("[1,,2]", .unexpectedCharacter, 3),
            ("[", .unexpectedEnd, 1),
            ("[1", .unexpectedEnd, 2),
            ("{", .unexpectedEnd, 1),
            (#"{"a""#, .unexpectedEnd, 4),
            (#"{"a" 1}"#, .unexpectedCharacter, 5),
            ("{a:1}", .unexpectedCharacter, 1),
            ("{'a':1}", .unexpectedCharacter, 1),
            (#"{"a":1 "b":2}"#, .unexpectedCharacter, 7),
            ("01", .invalidNumber, 1),
            ("-01", .invalidNumber, 2),
            ("00", .invalidNumber, 1),
            ("-", .unexpectedEnd, 1),
            ("-a", .invalidNumber, 1),
            ("1.", .unexpectedEnd, 2),
            ("1.e5", .invalidNumber, 2),
            ("1e", .unexpectedEnd, 2),
            ("1e+", .unexpectedEnd, 3),
            ("1ex", .invalidNumber, 2),
            (".5", .unexpectedCharacter, 0),
            ("+1", .unexpectedCharacter, 0),
            ("NaN", .unexpectedCharacter, 0),
            ("Infinity", .unexpectedCharacter, 0),
            ("-Infinity", .invalidNumber, 1),
            ("'a'", .unexpectedCharacter, 0),
            ("[1]x", .trailingCharacters, 3),
            ("[1] [2]", .trailingCharacters, 4),
            ("1 2", .trailingCharacters, 2),
            ("//c\n1", .unexpectedCharacter, 0),
            ("/*c*/1", .unexpectedCharacter, 0),
            ("[1,/*c*/2]", .unexpectedCharacter, 3),
            ("\u{FEFF}1", .unexpectedCharacter, 0),
            (#""abc"#, .unexpectedEnd, 4),
            ("\"a\nb\"", .controlCharacterInString, 2),
            ("\"a\tb\"", .controlCharacterInString, 2),
            ("\"\\n\u{1}\"", .controlCharacterInString, 3),
            (#""\x""#, .invalidEscape, 1),
            (#""\'""#, .invalidEscape, 1),
            (#""\u12""#, .invalidEscape, 5),
            (#""\u12G4""#, .invalidEscape, 5),
            (#""\u"#, .unexpectedEnd, 3),
            (#""\"#, .unexpectedEnd, 2),
        ] as [(String, JSONError.Code, Int)]
    )
    func syntaxErrors(text: String, code: JSONError.Code, offset: Int) {
        let error = parseError(Array(text.utf8))
        #expect(error?.code == code)
        #expect(error?.offset == offset)
    }

    @Test(
        "invalid UTF-8 is rejected",
        arguments: [
            ([0x22, 0xFF, 0x22], 1),  // never valid
            ([0x22, 0x61, 0x80, 0x22], 2),  // lone continuation byte
            ([0x22, 0xC0, 0xAF, 0x22], 1),  // overlong '/'
            ([0x22, 0xE0, 0x80, 0xAF, 0x22], 1),  // overlong 3-byte
            ([0x22, 0xED, 0xA0, 0x80, 0x22], 1),  // UTF-8-encoded surrogate U+D800
            ([0x22, 0xE2, 0x82, 0x22], 1),  // truncated €
            ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], 1),  // above U+10FFFF
            ([0x22, 0xC3, 0xA9, 0xC3, 0x22], 3),  // é then a truncated sequence
            ([0x22, 0x5C, 0x6E, 0xFF, 0x22], 3),  // after an escape (slow path)
            ([0x5B, 0x22, 0xFE, 0x22, 0x5D], 2),  // inside an array
        ] as [([UInt8], Int)]
    )
    func invalidUTF8(bytes: [UInt8], offset: Int) {
        let error = parseError(bytes)
        #expect(error?.code == .invalidUTF8)
        #expect(error?.offset == offset)
    }

    @Test("invalid UTF-8 in object keys is rejected")
    func invalidUTF8Key() {
        #expect(parseError([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D])?.code == .invalidUTF8)
    }

    @Test("a byte outside any string that is not JSON")
    func strayByte() {
        #expect(parseError([0xFF]) == JSONError(.unexpectedCharacter, at: 0, byte: 0xFF))
    }

    @Test("error descriptions")
    func descriptions() {
        #expect(parseError(Array("nulx".utf8))?.description == "unexpected character 'x' at byte 3")
        #expect(parseError(Array("[1,".utf8))?.description == "unexpected end of input at byte 3")
        #expect(parseError([0xFF])?.description == "unexpected character 0xFF at byte 0")
        #expect(parseError(Array("[1] [".utf8))?.description == "trailing characters '[' at byte 4")
        #expect(parseError(Array("[\"\u{1}\"]".utf8))?.description == "unescaped control character in string 0x01 at byte 2")
    }

    // MARK: Entry points

    @Test("parsePrefix returns the offset just past the value")
    func parsePrefix() throws {
        let bytes = Array(#"2/chat,  ["a",1] tail"#.utf8)
        let (value, end) = try JSONParser.parsePrefix(bytes[...], from: 7)
        #expect(value == ["a", 1])
        #expect(end == 16)
        let (number, numberEnd) = try JSONParser.parsePrefix(Array("12,3".utf8)[...], from: 0)
        #expect(number == .int(12))
        #expect(numberEnd == 2)
        let slice = bytes[7...]
        let (sliced, slicedEnd) = try JSONParser.parsePrefix(slice, from: 0)
        #expect(sliced == ["a", 1])
        #expect(slicedEnd == 9)
        #expect(throws: JSONError(.unexpectedEnd, at: 1)) {
            try JSONParser.parsePrefix(Array("[".utf8)[...], from: 0)
        }
    }

    @Test("non-contiguous and string inputs")
    func otherCollections() throws {
        let reversed = Array("]2,1[".utf8).reversed()
        #expect(try JSONParser.parse(reversed) == [1, 2])
        #expect(try JSONParser.parse(#"{"k":"v"}"#.utf8) == ["k": "v"])
        let slice = Array("xx[true]".utf8)[2...]
        #expect(try JSONParser.parse(slice) == [true])
        #expect(throws: JSONError(.trailingCharacters, at: 6, byte: UInt8(ascii: "x"))) {
            try JSONParser.parse(Array("xx[true]x".utf8)[2...])
        }
    }

    @Test("the exact fast path agrees with the standard library's correctly rounded conversion")
    func numberFastPath() throws {
        var random = SplitMix64(seed: 0x5EED)
        for _ in 0..<5000 {
            let digits = Int(random.next() % 16) + 1
            var text = random.next() % 2 == 0 ? "-" : ""
            for position in 0..<digits {
                let digit = random.next() % 10
                text += String(position == 0 && digits > 1 ? max(digit, 1) : digit)
            }
            if random.next() % 2 == 0 {
                let cut = Int(random.next() % UInt64(digits))
                if cut > 0 {
                    let index = text.index(text.endIndex, offsetBy: -cut)
                    text.insert(".", at: index)
                }
            }
            let exponent = Int(random.next() % 61) - 30
            text += "e\(exponent)"
            let expected = try #require(Double(text))
            #expect(try parse(text) == .double(expected), "\(text)")
        }
    }
}

/// A small deterministic generator for property tests.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
