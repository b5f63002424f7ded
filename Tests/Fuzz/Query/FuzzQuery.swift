import EngineIO
import EngineIOTesting

/// URL query strings and percent-decoding.
///
/// 1. Percent-decoding (with and without `+` as space) decodes or refuses; what decodes is no longer than
///    the text, and the bytes percent-encoded again decode to the same bytes.
/// 2. A raw query string parses, and a name it reports comes back from a query written from it; the bytes
///    split at `&` as lws's decoded arguments are taken literally, the first of a name giving its value.
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

    // A raw query string (the in-memory transports' form): what it reports survives being written again.
    let raw = QueryParameters(text)
    for name in ["EIO", "transport", "sid", "t", "j", "b64"] {
        guard let value = raw[name] else { continue }
        let written = "\(percentEncoded(Array(name.utf8)))=\(percentEncoded(Array(value.utf8)))"
        Fuzz.check(QueryParameters(written)[name] == value, "\(name)=\(value) does not survive being written")
    }
    // lws's form: the bytes split at each `&` are arguments lws already decoded, taken literally; the first
    // argument with a name gives its value, everything after its first `=`.
    var query = QueryParameters()
    var firstValues: [String: String] = [:]
    for argument in Array(input).split(separator: UInt8(ascii: "&")) {
        argument.withUnsafeBufferPointer { query.append(decodedArgument: $0) }
        let equals = argument.firstIndex(of: UInt8(ascii: "=")) ?? argument.endIndex
        let name = String(decoding: argument[..<equals], as: UTF8.self)
        let value = equals == argument.endIndex ? "" : String(decoding: argument[(equals + 1)...], as: UTF8.self)
        if firstValues[name] == nil { firstValues[name] = value }
    }
    for (name, value) in firstValues {
        Fuzz.check(query[name] == value, "argument \(name) reads as \(String(describing: query[name])), not \(value)")
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
