import EngineIO
import EngineIOTesting
import SocketIO

/// msgpack messages as a client of `--parser msgpack` sends them: parts separated by 0x1E, each one binary
/// WebSocket message.
///
/// 1. The reader: every part reads into a value or throws, never traps; a value written again reads back
///    the same (NaN aside, which equals nothing) and writing that is stable.
/// 2. The packet codec: a part that decodes as a packet encodes and decodes to the same packet.
/// 3. The server: the parts go, in order, to a connected client of the real server (engine, Socket.IO with
///    the msgpack parser, chat app); then the client goes away, time passes, and no session may remain.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMsgPack(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let parts = Fuzz.parts(UnsafeBufferPointer(start: data, count: size))
    for part in parts { checkCodec(Array(part)) }
    let server = FuzzServer(parser: .msgpack)
    let client = server.engine.connectInMemory()
    for part in parts {
        client.clientSendsBinary(Array(part))
        server.clock.advance(by: 50)
    }
    client.clientDisconnects()
    server.expireEverything()
    return 0
}

private func checkCodec(_ bytes: [UInt8]) {
    guard let value = try? MsgPackReader.read(bytes) else { return }
    let written = MsgPackWriter.encode(value)
    let again: JSONValue
    do { again = try MsgPackReader.read(written) } catch {
        Fuzz.check(false, "written msgpack does not read: \(error) for \(value)")
        return
    }
    Fuzz.check(again == value || hasNaN(value), "round trip changed \(value) into \(again)")
    Fuzz.check(MsgPackWriter.encode(again) == written, "writing is not stable for \(again)")
    guard let packet = try? SocketIOPacket.decodeMsgPack(bytes) else { return }
    do {
        let decoded = try SocketIOPacket.decodeMsgPack(packet.encodeMsgPack())
        Fuzz.check(decoded == packet || packet.data.map(hasNaN) == true, "packet round trip changed \(packet) into \(decoded)")
    } catch {
        Fuzz.check(false, "encoded packet does not decode: \(error) for \(packet)")
    }
}

private func hasNaN(_ value: JSONValue) -> Bool {
    switch value {
    case .double(let number): number.isNaN
    case .array(let elements): elements.contains(where: hasNaN)
    case .object(let members): members.contains { hasNaN($0.value) }
    case .null, .bool, .int, .string, .binary: false
    }
}
