import EngineIO
import EngineIOTesting

/// Engine.IO 3 polling payloads (`--allow-eio3`).
///
/// 1. The codec: the bytes decode as a v3 payload (either form) or throw; packets that decode, if their
///    text is UTF-8, encode in both forms (text for a `b64=1` client, and the form chosen for the others)
///    and decode to the same packets.
/// 2. The server: a v3 client of the real server (engine, Socket.IO, chat app) POSTs the bytes and GETs
///    what it was answered; then time passes and no session may remain.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEngineIO3(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    checkCodec(input)
    driveServer(input)
    return 0
}

private func checkCodec(_ input: [UInt8]) {
    guard let packets = try? EnginePacket.decodePollingPayloadV3(input) else { return }
    guard packets.allSatisfy({ $0.isBinary || String(validating: $0.payload, as: UTF8.self) != nil }) else { return }
    for base64 in [true, false] {
        let (body, _) = EnginePacket.encodePollingPayloadV3(packets, base64: base64)
        do {
            let again = try EnginePacket.decodePollingPayloadV3(body)
            Fuzz.check(again == packets, "v3 payload round trip (b64=\(base64)) changed \(packets) into \(again)")
        } catch {
            Fuzz.check(false, "encoded v3 payload (b64=\(base64)) does not decode: \(error) for \(packets)")
        }
    }
}

private func driveServer(_ input: [UInt8]) {
    let server = FuzzServer(allowEIO3: true)
    let handshake = RecordingResponder()
    server.engine.handle(
        HTTPRequest(method: .get, path: "/socket.io/", query: QueryParameters("EIO=3&transport=polling"), origin: nil, peer: "fuzz"),
        responder: handshake, onAbandon: { _ in })
    let open = handshake.body ?? ""
    // `<length>:0{"sid":"…",…}` and more packets after it.
    let packet = open.split(separator: ":", maxSplits: 1).last ?? ""
    Fuzz.check(handshake.status == 200 && packet.hasPrefix("0{\"sid\":\""), "v3 handshake failed: \(open)")
    let sid = String(packet.dropFirst(9).prefix { $0 != "\"" })
    let query = QueryParameters("EIO=3&transport=polling&sid=\(sid)")
    let post = RecordingResponder()
    server.engine.handle(
        HTTPRequest(method: .post, path: "/socket.io/", query: query, origin: nil, peer: "fuzz", body: input),
        responder: post, onAbandon: { _ in })
    Fuzz.check(post.status != nil, "POST got no answer")
    server.clock.advance(by: 50)
    server.engine.handle(
        HTTPRequest(method: .get, path: "/socket.io/", query: query, origin: nil, peer: "fuzz"),
        responder: RecordingResponder(), onAbandon: { _ in })
    server.expireEverything()
}
