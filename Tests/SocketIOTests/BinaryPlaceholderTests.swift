import Testing

@testable import SocketIO

@Suite("BinaryPlaceholders")
struct BinaryPlaceholderTests {
    private static func placeholder(_ num: JSONValue) -> JSONValue { ["_placeholder": true, "num": num] }

    private func reconstructError(_ value: JSONValue, _ attachments: [[UInt8]]) -> SocketIOPacketError? {
        do {
            let result = try BinaryPlaceholders.reconstruct(value, attachments: attachments)
            Issue.record("reconstructed \(result)")
            return nil
        } catch {
            return error
        }
    }

    @Test("attachments are numbered depth-first in wire order")
    func deconstructOrder() {
        let value: JSONValue = ["a", .binary([1]), ["k": .binary([2]), "l": [.binary([3]), 4]], .binary([4])]
        let (stripped, attachments) = BinaryPlaceholders.deconstruct(value)
        #expect(stripped == ["a", Self.placeholder(0), ["k": Self.placeholder(1), "l": [Self.placeholder(2), 4]], Self.placeholder(3)])
        #expect(attachments == [[1], [2], [3], [4]])
        #expect(JSONWriter.encode(Self.placeholder(0)) == Array(#"{"_placeholder":true,"num":0}"#.utf8))
    }

    @Test("values without binaries pass through")
    func noBinary() throws {
        let value: JSONValue = ["a", ["b": [1, 2.5, nil]]]
        let (stripped, attachments) = BinaryPlaceholders.deconstruct(value)
        #expect(stripped == value)
        #expect(attachments.isEmpty)
        #expect(try BinaryPlaceholders.reconstruct(value, attachments: []) == value)
        #expect(!value.containsBinary)
    }

    @Test("a top-level binary")
    func topLevel() throws {
        let (stripped, attachments) = BinaryPlaceholders.deconstruct(.binary([9, 9]))
        #expect(stripped == Self.placeholder(0))
        #expect(attachments == [[9, 9]])
        #expect(try BinaryPlaceholders.reconstruct(stripped, attachments: attachments) == .binary([9, 9]))
    }

    @Test("reconstruct inverts deconstruct", arguments: 0..<4)
    func roundTrip(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        for _ in 0..<100 {
            let value = Self.sprinkleBinaries(JSONWriterTests.generate(depth: 0, using: &random), using: &random)
            let (stripped, attachments) = BinaryPlaceholders.deconstruct(value)
            #expect(!stripped.containsBinary)
            #expect(attachments.count == Self.binaries(in: value))
            #expect(try BinaryPlaceholders.reconstruct(stripped, attachments: attachments) == value)
        }
    }

    @Test("member order and ordinary objects")
    func placeholderShapes() throws {
        let reversed: JSONValue = [["num": 0, "_placeholder": true]]
        #expect(try BinaryPlaceholders.reconstruct(reversed, attachments: [[7]]) == [.binary([7])])
        let notPlaceholder: JSONValue = [["_placeholder": false, "num": 0], ["num": 0], ["_placeholder": 1, "num": 0]]
        #expect(try BinaryPlaceholders.reconstruct(notPlaceholder, attachments: []) == notPlaceholder)
    }

    @Test(
        "malformed placeholders",
        arguments: [
            (placeholder(1), 1),
            (placeholder(-1), 1),
            (placeholder(1000), 1),
            (placeholder(.double(0)), 1),
            (placeholder("0"), 1),
            (placeholder(nil), 1),
            (["_placeholder": true] as JSONValue, 1),
            (["_placeholder": true, "num": 0, "extra": 1] as JSONValue, 1),
            (["_placeholder": true, "nom": 0] as JSONValue, 1),
            ([placeholder(0), placeholder(0)] as JSONValue, 2),
            (placeholder(0), 0),
        ] as [(JSONValue, Int)]
    )
    func malformed(value: JSONValue, count: Int) {
        let attachments = [[UInt8]](repeating: [1], count: count)
        #expect(reconstructError(value, attachments)?.code == .invalidPlaceholder)
    }

    @Test("placeholders and attachments must match one to one")
    func mismatch() {
        #expect(reconstructError(["a", Self.placeholder(0)], [[1], [2]])?.code == .attachmentMismatch)
        #expect(reconstructError(["a"], [[1]])?.code == .attachmentMismatch)
        #expect(reconstructError(["a", Self.placeholder(1)], [[1], [2]])?.code == .attachmentMismatch)
    }

    /// Replaces some leaves of `value` with random binaries.
    /// The `.binary` values anywhere inside `value`: what deconstructing it must take out.
    private static func binaries(in value: JSONValue) -> Int {
        switch value {
        case .binary: 1
        case .array(let elements): elements.reduce(0) { $0 + binaries(in: $1) }
        case .object(let members): members.reduce(0) { $0 + binaries(in: $1.value) }
        case .null, .bool, .int, .double, .string: 0
        }
    }

    private static func sprinkleBinaries(_ value: JSONValue, using random: inout SplitMix64) -> JSONValue {
        switch value {
        case .array(let elements):
            return .array(elements.map { sprinkleBinaries($0, using: &random) })
        case .object(let members):
            return .object(members.map { JSONMember($0.key, sprinkleBinaries($0.value, using: &random)) })
        default:
            guard random.next() % 3 == 0 else { return value }
            return .binary((0..<Int(random.next() % 5)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        }
    }
}
