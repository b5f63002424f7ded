import Testing

@testable import EngineIO

/// The sessions table keeps sids of up to 32 bytes inline and longer ones by string; either way a sid
/// finds exactly its own session, by string or by a request's bytes.
@Suite struct SessionTableTests {
    final class Entry {
        let id: String
        init(_ id: String) { self.id = id }
    }

    private func lookUp(_ table: SessionTable<Entry>, bytes text: String) -> Entry? {
        Array(text.utf8).withUnsafeBufferPointer { table[bytes: $0] }
    }

    @Test func sidsOfEveryLengthFindTheirOwnEntry() {
        var table = SessionTable<Entry>()
        let plain = SessionID.make()
        let tagged = SessionID.make(nodeTag: "0123456789ab")
        let long = String(repeating: "x", count: 33)
        let ids = ["", "a", plain, String(plain.dropLast()), tagged, long, long + "y", String(repeating: "x", count: 32)]
        for id in ids { table[id] = Entry(id) }
        #expect(table.count == ids.count)
        for id in ids {
            #expect(table[id]?.id == id)
            #expect(lookUp(table, bytes: id)?.id == id)
        }
        // Sids that differ past the words in use, or only in length, are different keys.
        #expect(table[plain + "\u{0}"] == nil && lookUp(table, bytes: plain + "\u{0}") == nil)
        #expect(table["b"] == nil && lookUp(table, bytes: String(repeating: "x", count: 34)) == nil)
        #expect(table.removeValue(forKey: plain)?.id == plain)
        #expect(table[plain] == nil && table.removeValue(forKey: plain) == nil)
        #expect(table.removeValue(forKey: long)?.id == long && table[long + "y"]?.id == long + "y")
        #expect(table.count == ids.count - 2)
        #expect(Set(table.values.map(\.id)) == Set(ids).subtracting([plain, long]))
    }
}
