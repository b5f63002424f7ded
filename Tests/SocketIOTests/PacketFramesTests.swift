import Testing

@testable import SocketIO

/// The framing of a store's packet list (one string of netstrings, as Redis' take scripts build it).
@Suite struct PacketFramesTests {
    @Test func framesRoundTripAndReadAsTheScriptsWriteThem() throws {
        let packets = [Array(#"[["x"]]"#.utf8), [], Array("1,2:3".utf8), [UInt8](repeating: 0x2C, count: 12)]
        let frames = PacketFrames(packets: packets)
        #expect(String(decoding: frames.bytes.prefix(13), as: UTF8.self) == #"7:[["x"]],0:,"#)
        #expect(try frames.packets() == packets)
        #expect(try PacketFrames.empty.packets().isEmpty && PacketFrames(packets: []) == .empty)
    }

    /// The most of the smallest packets the default per-session bound lets through (6 bytes each), in one string.
    @Test func asManySmallestPacketsAsTheByteBoundHoldsReadBack() throws {
        let count = SocketIOConfiguration.defaultRecoveryAwayBytes / 6
        let packets = (0..<count).map { _ in Array(#"[[""]]"#.utf8) }
        let frames = PacketFrames(packets: packets)
        #expect(frames.bytes.count == count * 9)
        let read = try frames.packets()
        #expect(read.count == 43_690 && read.allSatisfy { $0 == packets[0] })
    }

    @Test(arguments: [
        "x", ":", "1:", "1:a", "1:ab", "2:a,", "01:a,", "-1:a,", "1a,", "1:a,2", "1:a,:", "99999999999:a,", "3:abc,1:d;",
        "18446744073709551617:a,",
    ])
    func malformedFramesAreRefused(_ text: String) {
        #expect(throws: StoredRecordError.self) { try PacketFrames(bytes: Array(text.utf8)).packets() }
    }
}
