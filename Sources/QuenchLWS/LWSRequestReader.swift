import CLibWebSockets
import EngineIO

/// Reads what the engine needs of a request out of lws's parsed headers. Service thread, while the
/// headers are still attached (the HTTP, filter and established callbacks).
enum LWSRequestReader {
    /// The method, path, query, origin and peer of the request on `wsi`; nil if it has no request line.
    static func request(on wsi: OpaquePointer) -> HTTPRequest? {
        let method: HTTPMethod
        let path: String
        if let uri = header(wsi, WSI_TOKEN_GET_URI) {
            method = .get
            path = uri
        } else if let uri = header(wsi, WSI_TOKEN_POST_URI) {
            method = .post
            path = uri
        } else if let uri = header(wsi, WSI_TOKEN_OPTIONS_URI) {
            method = .options
            path = uri
        } else if let (name, uri) = otherMethod(wsi) {
            method = .other(name)
            path = uri
        } else {
            return nil
        }
        return HTTPRequest(
            method: method,
            path: path,
            query: query(wsi),
            origin: header(wsi, WSI_TOKEN_ORIGIN),
            requestedHeaders: header(wsi, WSI_TOKEN_HTTP_AC_REQUEST_HEADERS),
            peer: peer(wsi))
    }

    /// The whole value of a header lws parsed, or nil when absent.
    static func header(_ wsi: OpaquePointer, _ token: lws_token_indexes) -> String? {
        let length = Int(lws_hdr_total_length(wsi, token))
        guard length > 0 else { return nil }
        return String(unsafeUninitializedCapacity: length + 1) { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                max(0, Int(lws_hdr_copy(wsi, chars.baseAddress, Int32(length + 1), token)))
            }
        }
    }

    /// The query, from lws's per-argument fragments joined again with `&` in one buffer.
    private static func query(_ wsi: OpaquePointer) -> QueryParameters {
        var bytes = [UInt8](repeating: 0, count: 256)
        var used = 0
        var index: Int32 = 0
        while true {
            let length = Int(lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, index))
            guard length > 0 else { break }
            let separator = index > 0 ? 1 : 0
            let needed = used + separator + length + 1  // lws writes a terminating NUL
            if bytes.count < needed { bytes.append(contentsOf: [UInt8](repeating: 0, count: needed - bytes.count + 256)) }
            let copied = bytes.withUnsafeMutableBufferPointer { buffer in
                (buffer.baseAddress! + used + separator).withMemoryRebound(to: CChar.self, capacity: length + 1) {
                    Int(lws_hdr_copy_fragment(wsi, $0, Int32(length + 1), WSI_TOKEN_HTTP_URI_ARGS, index))
                }
            }
            guard copied >= 0 else { break }
            if separator == 1 { bytes[used] = UInt8(ascii: "&") }
            used += separator + copied
            index += 1
        }
        return bytes.withUnsafeBufferPointer { QueryParameters(utf8: UnsafeBufferPointer(rebasing: $0[..<used])) }
    }

    private static func otherMethod(_ wsi: OpaquePointer) -> (String, String)? {
        let candidates: [(String, lws_token_indexes)] = [
            ("PUT", WSI_TOKEN_PUT_URI), ("PATCH", WSI_TOKEN_PATCH_URI), ("DELETE", WSI_TOKEN_DELETE_URI),
            ("HEAD", WSI_TOKEN_HEAD_URI),
        ]
        for (name, token) in candidates {
            if let uri = header(wsi, token) { return (name, uri) }
        }
        return nil
    }

    /// The peer's numeric address.
    static func peer(_ wsi: OpaquePointer) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        guard lws_get_peer_simple(wsi, &buffer, buffer.count) != nil else { return "-" }
        let address = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d; logs read better without the prefix.
        return address.hasPrefix("::ffff:") && address.contains(".") ? String(address.dropFirst(7)) : address
    }
}
