#if canImport(Glibc)
import Glibc
#endif
import COpenSSL

/// One TLS client session (OpenSSL) over a TCP socket that is already connected and non-blocking: the
/// `rediss://` transport of the Redis connection. This target is the only door to OpenSSL (STYLE.md §8.4);
/// what passes it is Swift types and this enum of steps.
///
/// Never blocks: each call does what it can and says what it waits for (``Step/wantRead``,
/// ``Step/wantWrite``); the caller polls the socket with its own deadline and calls again with the same
/// arguments. Writes are partial (`SSL_MODE_ENABLE_PARTIAL_WRITE`): a write reports the bytes whose records
/// went to the kernel whole, so a caller knows what may have reached the peer.
///
/// The server's certificate is verified against ``Settings/caFile`` or the system's CA store, and its name
/// against ``Settings/serverName`` (a DNS name, also sent as SNI, or an IP address), TLS 1.2 at least.
///
/// Used by one thread at a time (OpenSSL's error queue is per thread). Writes go through the socket BIO,
/// which can raise SIGPIPE: the process must ignore SIGPIPE (quench does at start-up).
public final class TLSClientSession {
    /// What a call did.
    public enum Step: Equatable, Sendable {
        /// Done: the number of bytes written or read (0 for a finished handshake).
        case done(Int)
        /// Call again once the socket is readable.
        case wantRead
        /// Call again once the socket is writable.
        case wantWrite
        /// The peer closed the session.
        case closed
        /// It failed; the text says why (a verification failure names the certificate's fault).
        case failed(String)
    }

    /// What the session checks.
    public struct Settings: Sendable, Equatable {
        /// A PEM file of the CA certificates to trust; nil trusts the system's store.
        public var caFile: String?
        /// The name the certificate must carry: a DNS name (sent as SNI too) or an IP address.
        public var serverName: String

        /// - Parameters:
        ///   - caFile: PEM CA certificates to trust; default nil, the system's store.
        ///   - serverName: the name the server's certificate must carry.
        public init(caFile: String? = nil, serverName: String) {
            self.caFile = caFile
            self.serverName = serverName
        }
    }

    private let context: OpaquePointer
    private let ssl: OpaquePointer

    /// Prepares a session on `fd` (the handshake is ``handshake()``).
    /// - Throws: ``TLSClientError`` when OpenSSL cannot make a context, or the CA file does not load.
    public init(fd: Int32, settings: Settings) throws(TLSClientError) {
        ERR_clear_error()
        context = try Self.makeContext(caFile: settings.caFile)
        guard let ssl = SSL_new(context) else {
            SSL_CTX_free(context)
            throw TLSClientError("cannot make a TLS session: \(Self.errorQueueText())")
        }
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        let param = SSL_get0_param(ssl)
        X509_VERIFY_PARAM_set_hostflags(param, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
        if Self.isIPAddress(settings.serverName) {
            X509_VERIFY_PARAM_set1_ip_asc(param, settings.serverName)
        } else {
            SSL_set1_host(ssl, settings.serverName)
            copenssl_set_sni(ssl, settings.serverName)
        }
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    /// A context that verifies the peer against `caFile` or the system's store.
    private static func makeContext(caFile: String?) throws(TLSClientError) -> OpaquePointer {
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw TLSClientError("cannot make a TLS context: \(errorQueueText())")
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        _ = copenssl_ctx_set_min_proto_version(context, TLS1_2_VERSION)
        _ = copenssl_ctx_set_mode(context, copenssl_mode_partial_moving())
        copenssl_ctx_ignore_unexpected_eof(context)
        let loaded = caFile.map { SSL_CTX_load_verify_locations(context, $0, nil) } ?? SSL_CTX_set_default_verify_paths(context)
        guard loaded == 1 else {
            let reason = errorQueueText()
            SSL_CTX_free(context)
            throw TLSClientError("cannot load the CA certificates \(caFile ?? "of the system"): \(reason)")
        }
        return context
    }

    /// Nil when `path` holds CA certificates OpenSSL can load; otherwise why not (checked at start-up).
    public static func problem(withCAFile path: String) -> String? {
        ERR_clear_error()
        do {
            SSL_CTX_free(try makeContext(caFile: path))
            return nil
        } catch {
            return error.description
        }
    }

    /// Runs the handshake as far as it can; `.done(0)` once it is complete and the certificate verified.
    public func handshake() -> Step {
        ERR_clear_error()
        let result = SSL_connect(ssl)
        if result == 1 { return .done(0) }
        let step = self.step(result)
        guard case .failed(let reason) = step else { return step }
        let verdict = SSL_get_verify_result(ssl)
        if verdict != X509_V_OK {
            return .failed("certificate verify failed: \(String(cString: X509_verify_cert_error_string(verdict)))")
        }
        return .failed(reason)
    }

    /// Writes from `bytes`; `.done(n)` for the first n bytes, whose records went to the kernel whole.
    public func write(_ bytes: UnsafeRawPointer, count: Int) -> Step {
        ERR_clear_error()
        return step(SSL_write(ssl, bytes, Int32(clamping: count)))
    }

    /// Reads into `buffer`; `.done(n)` with n > 0 bytes of plaintext.
    public func read(into buffer: UnsafeMutableRawPointer, count: Int) -> Step {
        ERR_clear_error()
        return step(SSL_read(ssl, buffer, Int32(clamping: count)))
    }

    private func step(_ result: Int32) -> Step {
        if result > 0 { return .done(Int(result)) }
        let code = SSL_get_error(ssl, result)
        switch code {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL:
            // Fatal (OpenSSL reports a socket that would block as WANT_READ/WANT_WRITE, not here).
            let error = errno
            if ERR_peek_error() == 0 { return error == 0 ? .closed : .failed(String(cString: strerror(error))) }
            return .failed(Self.errorQueueText())
        default:
            return .failed(Self.errorQueueText())
        }
    }

    /// The reasons on OpenSSL's error queue (this thread's), emptying it; "unknown" if it is empty.
    private static func errorQueueText() -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            if let reason = ERR_reason_error_string(code) {
                reasons.append(String(cString: reason))
            } else {
                var buffer = [CChar](repeating: 0, count: 256)
                ERR_error_string_n(code, &buffer, buffer.count)
                reasons.append(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
            }
        }
        return reasons.isEmpty ? "unknown TLS error" : reasons.joined(separator: "; ")
    }

    private static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }
}

/// A TLS session that could not be set up; the text says why.
public struct TLSClientError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
