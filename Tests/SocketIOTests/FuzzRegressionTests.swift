import Testing

import SocketIO

/// Inputs `make fuzz` found (Tests/Fuzz), each fed as the reproducer's bytes, so the bug stays fixed.
@Suite struct FuzzRegressionTests {
    /// fuzz-socketio, crash-72a8ca1b…: a namespace whose `/` is followed by a combining mark (U+034F, then a
    /// NUL) decoded fine, but the encoder asked `hasPrefix("/")`, which compares grapheme clusters, found no
    /// leading slash and wrote a second one: the CONNECT reply or CONNECT_ERROR named `//͏` instead.
    @Test func namespaceStartingWithSlashAndACombiningMarkEncodesWithOneSlash() throws {
        let reproducer: [UInt8] = [0x30, 0x2F, 0xCD, 0x8F, 0x00]  // 0/ U+034F NUL
        let packet = try SocketIOPacket.decode(reproducer)
        #expect(packet.namespace.utf8.elementsEqual([0x2F, 0xCD, 0x8F, 0x00]))
        #expect(packet.encode().text == reproducer + [0x2C])  // the namespace, once, then its comma
        #expect(try SocketIOPacket.decode(packet.encode().text) == packet)
    }
}
