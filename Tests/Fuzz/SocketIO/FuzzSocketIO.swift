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
///    as a frame, in order; then the client's socket goes away (and, with connection state recovery on for
///    odd-sized inputs, it comes back with its pid and last offset and sends them all again), time passes, and
///    no session may remain.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSocketIO(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let parts = Fuzz.parts(UnsafeBufferPointer(start: data, count: size))
    checkCodec(parts)
    // Half the inputs (by length) run with connection state recovery on, so its pid, offsets and replay
    // are fuzzed too.
    driveServer(parts, recovery: size % 2 == 1)
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
        // Only a binary packet has placeholders to fill (a text event may carry objects that merely look
        // like them, and keeps them as they are).
        let decoded = try SocketIOPacket.decode(text)
        again = decoded.type.isBinary ? try decoded.reconstructingBinary(encodedAttachments) : decoded
        Fuzz.check(decoded.type.isBinary || encodedAttachments.isEmpty, "attachments without a binary type")
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

private func driveServer(_ parts: [ArraySlice<UInt8>], recovery: Bool) {
    let server = FuzzServer(recoveryWindow: recovery ? 2000 : 0)
    let client = server.engine.connectInMemory()
    feed(parts, to: client, server)
    let frames = client.takeFrames()
    client.clientDisconnects()
    // With recovery on, the same client comes back within the window with the pid and the last offset it
    // was given, and sends the same packets again.
    if recovery, let pid = connectField("pid", in: frames) {
        let again = server.engine.connectInMemory()
        var auth = [JSONMember("pid", .string(pid))]
        if let offset = lastOffset(in: frames) { auth.append(JSONMember("offset", .string(offset))) }
        again.transport?.receive(frame: Array("40".utf8) + JSONWriter.encode(.object(auth)), isBinary: false)
        feed(parts, to: again, server)
        again.clientDisconnects()
    }
    server.expireEverything()
}

private func feed(_ parts: [ArraySlice<UInt8>], to client: InMemoryWebSocket, _ server: FuzzServer) {
    for part in parts {
        if part.first == UInt8(ascii: "b") {
            client.clientSendsBinary(Array(part.dropFirst()))
        } else {
            client.transport?.receive(frame: [EnginePacketType.message.digit] + part, isBinary: false)
        }
        server.clock.advance(by: 50)
    }
}

/// A string member of the first CONNECT reply to `/` (`40{"sid":…,"pid":…}`).
private func connectField(_ name: String, in frames: [String]) -> String? {
    guard let reply = frames.first(where: { $0.hasPrefix("40{") }),
        let value = try? JSONParser.parse(Array(reply.utf8.dropFirst(2)))
    else { return nil }
    return value[name]?.stringValue
}

/// The offset the server put last in the last event it sent to `/`.
private func lastOffset(in frames: [String]) -> String? {
    for frame in frames.reversed() where frame.hasPrefix("42[") {
        if let value = try? JSONParser.parse(Array(frame.utf8.dropFirst(2))), let offset = value.arrayValue?.last?.stringValue {
            return offset
        }
    }
    return nil
}
