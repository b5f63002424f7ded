import EngineIO
import QuenchMessageQueue

/// The decoder of the messages between quench nodes' engines (passed-on requests, answers, moved
/// sessions), as they arrive from Redis on a node's own channel.
///
/// Decodes or throws, never traps; what decodes (in either form: JSON, or the compact form of the direct
/// link) encodes in each form to bytes that decode to the same message, and encoding that gives the same
/// bytes again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNodeMessage(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let decoded = try? NodeMessageCodec.decode(Array(UnsafeBufferPointer(start: data, count: size))) else { return 0 }
    let written = NodeMessageCodec.encode(decoded)
    let again: NodeMessage
    do { again = try NodeMessageCodec.decode(written) } catch {
        Fuzz.check(false, "encoded message does not decode: \(error) in \(String(decoding: written, as: UTF8.self))")
        return 0
    }
    Fuzz.check(again == decoded, "round trip changed \(decoded) into \(again)")
    Fuzz.check(NodeMessageCodec.encode(again) == written, "encoding is not stable for \(again)")
    let compact = NodeMessageCodec.encodeCompact(decoded)
    do {
        let fromCompact = try NodeMessageCodec.decode(compact)
        Fuzz.check(fromCompact == decoded, "compact round trip changed \(decoded) into \(fromCompact)")
        Fuzz.check(NodeMessageCodec.encodeCompact(fromCompact) == compact, "compact encoding is not stable for \(fromCompact)")
    } catch {
        Fuzz.check(false, "compact message does not decode: \(error) for \(decoded)")
    }
    if case .response(_, let response) = again {
        for header in response.headers {
            Fuzz.check(!header.name.utf8.contains(where: { $0 < 0x20 }) && !header.value.utf8.contains(where: { $0 < 0x20 }), "a header with a control character: \(header)")
        }
    }
    return 0
}
