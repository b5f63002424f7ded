import EngineIO
import EngineIOTesting
import SocketIO

/// Socket.IO packets as a WebSocket client sends them: parts separated by 0x1E, a part starting with `b`
/// is a binary attachment (the bytes after the `b`), any other part a text packet.
///
/// 1. The codec: the first part decodes or throws, never traps; a binary packet takes the attachments that
///    follow it, and what reassembles re-encodes (placeholders and attachments again) and decodes and
///    reassembles to the same packet.
/// 2. The server: every part goes to a connected client of the real server (engine, Socket.IO, chat app)
///    as a frame, in order; then time passes and the client's socket goes away, and no session may remain.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSocketIO(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let parts = Fuzz.parts(UnsafeBufferPointer(start: data, count: size))
    checkCodec(parts)
    driveServer(parts)
    return 0
}

private func checkCodec(_ parts: [ArraySlice<UInt8>]) {
    guard let first = parts.first, first.first != UInt8(ascii: "b"),
        var packet = try? SocketIOPacket.decode(first)
    else { return }
    if packet.type.isBinary {
        let attachments = parts.dropFirst().prefix { $0.first == UInt8(ascii: "b") }.prefix(packet.attachmentCount)
            .map { Array($0.dropFirst()) }
        guard let whole = try? packet.reconstructingBinary(attachments) else { return }
        packet = whole
    }
    let (text, encodedAttachments) = packet.encode()
    let again: SocketIOPacket
    do {
        again = try SocketIOPacket.decode(text).reconstructingBinary(encodedAttachments)
    } catch {
        Fuzz.check(false, "encoded packet does not decode: \(error) in \(String(decoding: text, as: UTF8.self))")
        return
    }
    var expected = packet
    expected.data = packet.data.map(Fuzz.normalised)
    if expected.attachmentCount == 0 {
        // `50-[…]` (a binary type with no attachment) is written as the plain type.
        if expected.type == .binaryEvent { expected.type = .event }
        if expected.type == .binaryAck { expected.type = .ack }
    }
    Fuzz.check(again == expected, "round trip changed \(expected) into \(again)")
}

private func driveServer(_ parts: [ArraySlice<UInt8>]) {
    let server = FuzzServer()
    let client = server.engine.connectInMemory()
    for part in parts {
        if part.first == UInt8(ascii: "b") {
            client.clientSendsBinary(Array(part.dropFirst()))
        } else {
            client.transport?.receive(frame: [EnginePacketType.message.digit] + part, isBinary: false)
        }
        server.clock.advance(by: 50)
    }
    client.clientDisconnects()
    server.expireEverything()
}
