import EngineIO
import EngineIOTesting

/// Engine.IO packets and polling payloads.
///
/// 1. The codecs: the bytes as one WebSocket frame (text and binary) re-encode to themselves; as a polling
///    payload they decode or throw, and what decodes re-encodes and decodes to the same packets; as base64
///    they decode or fail, and what decodes re-encodes and decodes to the same bytes.
/// 2. The server: the bytes are POSTed to a polling session of the real server, a GET takes what it
///    answered, and the same parts go as WebSocket frames to a WebSocket session; then time passes and no
///    session may remain.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEngineIO(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    checkCodecs(input)
    driveServer(input)
    return 0
}

private func checkCodecs(_ input: [UInt8]) {
    if let frame = try? EnginePacket.decode(webSocketFrame: input, isBinary: false) {
        Fuzz.check(frame.webSocketFrame() == input, "text frame does not re-encode to itself")
    }
    let binary = try? EnginePacket.decode(webSocketFrame: input, isBinary: true)
    Fuzz.check(binary?.webSocketFrame() == input, "binary frame does not re-encode to itself")

    if let packets = try? EnginePacket.decodePollingPayload(input) {
        let body = EnginePacket.encodePollingPayload(packets)
        let again = try? EnginePacket.decodePollingPayload(body)
        Fuzz.check(again == packets, "polling payload round trip changed \(packets) into \(String(describing: again))")
    }

    if let bytes = Base64.decode(input) {
        let encoded = Base64.encode(bytes)
        Fuzz.check(Base64.decode(encoded) == bytes, "base64 round trip changed the bytes")
        Fuzz.check(encoded.count <= input.count + 3, "base64 re-encoding grew")
    }
}

private func driveServer(_ input: [UInt8]) {
    let server = FuzzServer()
    let handshake = RecordingResponder()
    server.engine.handle(
        HTTPRequest(method: .get, path: "/socket.io/", query: QueryParameters("EIO=4&transport=polling"), origin: nil, peer: "fuzz"),
        responder: handshake, onAbandon: { _ in })
    let open = handshake.body ?? ""
    Fuzz.check(handshake.status == 200 && open.hasPrefix("0{\"sid\":\""), "handshake failed: \(open)")
    let sid = String(open.dropFirst(9).prefix { $0 != "\"" })
    let query = QueryParameters("EIO=4&transport=polling&sid=\(sid)")
    let post = RecordingResponder()
    server.engine.handle(
        HTTPRequest(method: .post, path: "/socket.io/", query: query, origin: nil, peer: "fuzz", body: input),
        responder: post, onAbandon: { _ in })
    Fuzz.check(post.status != nil, "POST got no answer")
    server.engine.handle(
        HTTPRequest(method: .get, path: "/socket.io/", query: query, origin: nil, peer: "fuzz"),
        responder: RecordingResponder(), onAbandon: { _ in })

    let socket = server.engine.connectInMemory()
    for part in input.split(separator: EnginePacket.separator, omittingEmptySubsequences: false) {
        socket.transport?.receive(frame: Array(part), isBinary: false)
    }
    socket.clientDisconnects()
    server.expireEverything()
}
