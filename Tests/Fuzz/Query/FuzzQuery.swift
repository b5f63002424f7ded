import EngineIO
import EngineIOTesting

/// URL query strings and percent-decoding.
///
/// 1. Percent-decoding (with and without `+` as space) decodes or refuses; what decodes is no longer than
///    the text, and the bytes percent-encoded again decode to the same bytes.
/// 2. The query parser takes any bytes; a name it reports comes back from a query written from it.
/// 3. The server: the bytes are the query of a GET and of a POST on the engine's path, each answered with an
///    HTTP status (or held, for a poll); then time passes and no session may remain.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQuery(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let text = String(decoding: input, as: UTF8.self)
    for plusIsSpace in [false, true] {
        guard let decoded = PercentDecoding.bytes(text, plusIsSpace: plusIsSpace) else { continue }
        Fuzz.check(decoded.count <= text.utf8.count, "decoding grew the text")
        let again = PercentDecoding.bytes(percentEncoded(decoded), plusIsSpace: plusIsSpace)
        Fuzz.check(again == decoded, "percent round trip changed \(decoded) into \(String(describing: again))")
    }

    let query = QueryParameters(utf8: input)
    for name in ["EIO", "transport", "sid", "t", "j", "b64"] {
        guard let value = query[name] else { continue }
        let written = "\(percentEncoded(Array(name.utf8)))=\(percentEncoded(Array(value.utf8)))"
        Fuzz.check(QueryParameters(written)[name] == value, "\(name)=\(value) does not survive being written")
    }

    let server = FuzzServer()
    for method in [HTTPMethod.get, .post] {
        let responder = RecordingResponder()
        server.engine.handle(
            HTTPRequest(method: method, path: "/socket.io/", query: query, origin: nil, peer: "fuzz", body: Array("4hello".utf8)),
            responder: responder, onAbandon: { _ in })
        if let status = responder.status {
            Fuzz.check((200..<600).contains(status), "status \(status)")
        }
    }
    server.expireEverything()
    return 0
}

/// Every byte as `%XX` except the unreserved ones (RFC 3986).
private func percentEncoded(_ bytes: [UInt8]) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    for byte in bytes {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.append(byte)
        default:
            out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
        }
    }
    return String(decoding: out, as: UTF8.self)
}
