import CLibWebSockets
import EngineIO
import Glibc

/// Reads what the engine needs of a request out of lws's parsed headers. Service thread, while the
/// headers are still attached (the HTTP, filter and established callbacks).
enum LWSRequestReader {
    /// The method, path, query, origin and peer of the request on `wsi`; nil if it has no request line.
    /// The peer is the client a trusted proxy names in `X-Forwarded-For` or `Forwarded`
    /// (``TrustedProxies``), else the socket's peer: `socketPeer` when the caller knows it already (a
    /// keep-alive connection's earlier request read it), else read from the socket.
    static func request(on wsi: OpaquePointer, trusting proxies: TrustedProxies, socketPeer: String? = nil) -> HTTPRequest? {
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
            peer: client(wsi, trusting: proxies, socketPeer: socketPeer))
    }

    /// The client's address: the socket's peer, or for a trusted proxy the client its headers name. The
    /// headers are only read for a trusted proxy, so without `--trusted-proxies` this costs nothing.
    static func client(_ wsi: OpaquePointer, trusting proxies: TrustedProxies, socketPeer known: String? = nil) -> String {
        let socketPeer = known ?? peer(wsi)
        guard proxies.trusts(socketPeer: socketPeer) else { return socketPeer }
        return proxies.client(
            socketPeer: socketPeer, xForwardedFor: header(wsi, WSI_TOKEN_X_FORWARDED_FOR), forwarded: customHeader(wsi, "forwarded:"))
    }

    /// The whole value of a header lws has no token for (`name` lower-case, with its colon), or nil.
    static func customHeader(_ wsi: OpaquePointer, _ name: String) -> String? {
        var name = name
        return name.withUTF8 { nameBytes in
            nameBytes.withMemoryRebound(to: CChar.self) { nameChars in
                let length = Int(lws_hdr_custom_length(wsi, nameChars.baseAddress, Int32(nameChars.count)))
                guard length > 0 else { return nil }
                return String(unsafeUninitializedCapacity: length + 1) { buffer in
                    buffer.withMemoryRebound(to: CChar.self) { chars in
                        max(0, Int(lws_hdr_custom_copy(wsi, chars.baseAddress, Int32(length + 1), nameChars.baseAddress, Int32(nameChars.count))))
                    }
                }
            }
        }
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

    /// `Content-Length` as a number, or nil when absent or not one (as `Int(_:)` reads it). Every POST
    /// asks twice, so plain digits are read from the bytes, with no `String` made.
    static func contentLength(_ wsi: OpaquePointer) -> Int? {
        let length = Int(lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH))
        guard length > 0 else { return nil }
        guard length <= 18 else { return header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH).flatMap { Int($0) } }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 20) { buffer -> Int? in
            let copied = Int(lws_hdr_copy(wsi, buffer.baseAddress, 20, WSI_TOKEN_HTTP_CONTENT_LENGTH))
            guard copied > 0 else { return nil }
            var value = 0
            for index in 0..<copied {
                let digit = UInt8(bitPattern: buffer[index]) &- UInt8(ascii: "0")
                guard digit < 10 else {
                    // Anything but plain digits (a sign, spaces) is read as Int(_:) reads it.
                    return Int(String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: copied), as: UTF8.self))
                }
                value = value * 10 + Int(digit)
            }
            return value
        }
    }

    /// The query parameters, each exactly as lws decoded it: lws splits the query into one fragment per
    /// argument and percent-decodes each, so the fragments are taken one by one and never joined again
    /// (joining with `&` would split a value that held an escaped `%26`). An empty fragment (`&&`) is
    /// skipped, not taken for the end: only `lws_hdr_copy_fragment` returning -1 says there are no more.
    /// One scratch buffer the size of the whole query serves every fragment.
    private static func query(_ wsi: OpaquePointer) -> QueryParameters {
        let total = Int(lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS))
        guard total > 0 else { return QueryParameters() }
        var parameters = QueryParameters(capacity: total)
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

    /// The socket peer's numeric address, or ``disconnectedPeer`` when it cannot be had. Read on every
    /// request (a long-polling client makes two per reply), so an IPv4 peer, the common case, is read with
    /// one `getpeername` and printed by hand; anything else goes through lws's text and ``IPAddress``.
    static func peer(_ wsi: OpaquePointer) -> String {
        if let address = ipv4Peer(wsi) { return dotted(address) }
        var buffer = [CChar](repeating: 0, count: 64)
        guard lws_get_peer_simple(wsi, &buffer, buffer.count) != nil else { return disconnectedPeer }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // lws writes getpeername's error into the buffer as if it were the address ("getpeername: Transport
        // endpoint is not connected" once the client has gone); anything that is not an address is that.
        return IPAddress(text)?.description ?? disconnectedPeer
    }

    /// The peer's IPv4 address (host order), also when a dual-stack socket shows it as `::ffff:a.b.c.d`
    /// (one client is one key however it arrived, as ``IPAddress`` has it); nil for IPv6 or no peer.
    private static func ipv4Peer(_ wsi: OpaquePointer) -> UInt32? {
        let fd = lws_get_socket_fd(wsi)
        guard fd >= 0 else { return nil }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        return withUnsafeMutablePointer(to: &storage) { pointer -> UInt32? in
            let named = pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
            guard named == 0 else { return nil }
            switch Int32(pointer.pointee.ss_family) {
            case AF_INET:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    withUnsafeBytes(of: address.pointee.sin6_addr) { bytes -> UInt32? in
                        guard bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF else { return nil }
                        return UInt32(bytes[12]) << 24 | UInt32(bytes[13]) << 16 | UInt32(bytes[14]) << 8 | UInt32(bytes[15])
                    }
                }
            default:
                return nil
            }
        }
    }

    /// `a.b.c.d` for an IPv4 address in host order, as ``IPAddress`` prints it (at most 15 bytes: a
    /// string Swift keeps inline, with no allocation).
    static func dotted(_ address: UInt32) -> String {
        String(unsafeUninitializedCapacity: 15) { buffer in
            var count = 0
            for shift in stride(from: 24, through: 0, by: -8) {
                let part = UInt8(truncatingIfNeeded: address >> UInt32(shift))
                if part >= 100 {
                    buffer[count] = UInt8(ascii: "0") + part / 100
                    count += 1
                }
                if part >= 10 {
                    buffer[count] = UInt8(ascii: "0") + part / 10 % 10
                    count += 1
                }
                buffer[count] = UInt8(ascii: "0") + part % 10
                count += 1
                if shift > 0 {
                    buffer[count] = UInt8(ascii: ".")
                    count += 1
                }
            }
            return count
        }
    }

    /// The peer of a connection whose client has already gone, so that the kernel no longer says who it was.
    static let disconnectedPeer = "(disconnected)"
}
