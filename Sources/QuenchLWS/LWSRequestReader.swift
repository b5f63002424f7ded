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

    /// The query parameters, each exactly as lws decoded it: lws splits the query into one fragment per
    /// argument and percent-decodes each, so the fragments are taken one by one and never joined again
    /// (joining with `&` would split a value that held an escaped `%26`). An empty fragment (`&&`) is
    /// skipped, not taken for the end: only `lws_hdr_copy_fragment` returning -1 says there are no more.
    /// One scratch buffer the size of the whole query serves every fragment.
    private static func query(_ wsi: OpaquePointer) -> QueryParameters {
        var parameters = QueryParameters()
        let total = Int(lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS))
        guard total > 0 else { return parameters }
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: total + 1) { scratch in
            var index: Int32 = 0
            while true {
                let copied = Int(lws_hdr_copy_fragment(wsi, scratch.baseAddress, Int32(scratch.count), WSI_TOKEN_HTTP_URI_ARGS, index))
                guard copied >= 0 else { break }
                scratch.withMemoryRebound(to: UInt8.self) {
                    parameters.append(decodedArgument: UnsafeBufferPointer(rebasing: $0[..<copied]))
                }
                index += 1
            }
        }
        return parameters
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
