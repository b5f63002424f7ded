import CLibWebSockets
import EngineIO
import QuenchSystem
import Synchronization

/// How large request headers may be, and the answer past that: `431 Request Header Fields Too Large`,
/// as nginx answers past its header buffers.
///
/// lws 4.1 keeps a request's header values in one area per request in progress (allocated when the
/// request begins, freed when it ends, or once a long-poll is held: LWSHTTPExchange). When that area
/// overflows lws can only close the connection, with no callback and no answer. So each header lws
/// knows is also given a limit of its own, well inside the area: lws cuts a longer one there, logs that
/// it did (naming the header), and finishes the request, which this type then refuses with the right
/// status. Service thread, except for ``noteTruncated(_:)``, which the log bridge calls.
enum HeaderLimits {
    /// Each header's value must be shorter than this: 16 KiB, enough for
    /// the large cookies browsers send (nginx's default buffers allow as much).
    static let perHeader = 16 * 1024
    /// All header values of one request together: 32 KiB. Past this lws closes the connection with no
    /// answer (and the log bridge logs it); only many large headers, or a header lws does not know
    /// by name, get there.
    static let total = 32 * 1024

    /// The table handed to lws (`token_limits`): ``perHeader`` for every header. Freed by the server
    /// after the context.
    static func makeTokenLimits() -> UnsafeMutablePointer<lws_token_limits> {
        let limits = UnsafeMutablePointer<lws_token_limits>.allocate(capacity: 1)
        limits.initialize(to: lws_token_limits())
        withUnsafeMutableBytes(of: &limits.pointee.token_limit) { bytes in
            for index in 0..<Int(WSI_TOKEN_COUNT.rawValue) { bytes.storeBytes(of: UInt16(perHeader), toByteOffset: index * 2, as: UInt16.self) }
        }
        return limits
    }

    /// Headers (lws token indexes) lws has ever cut, one bit each: only those are measured on later
    /// requests, so a server that never sees an oversize header measures nothing.
    private static let cutTokens = Lock<Set<Int32>>([])
    private static let anyCut = Atomic(false)

    /// The header index in lws's "header N exceeds limit L" line, if `line` is one.
    static func truncatedToken(inLWSLine line: String) -> Int32? {
        guard line.hasPrefix("header "), line.contains(" exceeds limit ") else { return nil }
        return Int32(line.dropFirst(7).prefix { $0.isNumber })
    }

    /// From the log bridge: lws cut header `token` of some request in progress.
    static func noteTruncated(_ token: Int32) {
        cutTokens.withLock { _ = $0.insert(token) }
        anyCut.store(true, ordering: .releasing)
    }

    /// The answer for a request (headers complete, on `wsi`) one of whose headers lws cut; nil for the others.
    static func refusal(_ wsi: OpaquePointer, peer: String, log: Logger) -> HTTPResponse? {
        guard anyCut.load(ordering: .acquiring) else { return nil }
        let tokens = cutTokens.withLock { $0 }
        guard let cut = tokens.first(where: { lws_hdr_total_length(wsi, lws_token_indexes(rawValue: UInt32($0))) >= perHeader })
        else { return nil }
        log.limited(.warn, cause: "refused-431", source: peer, "refused peer=\(peer) status=431 a request header of \(perHeader) bytes or more (lws header \(cut))")
        return HTTPResponse(
            status: 431, headers: [HTTPHeader("Connection", "close")],
            body: Array("A request header is \(perHeader) bytes or longer\n".utf8))
    }
}
