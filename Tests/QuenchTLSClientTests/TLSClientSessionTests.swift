#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import QuenchTLSClient

/// The TLS client without a TLS server: CA files that load or not, and handshakes with peers that do not
/// speak TLS. (Tests/Interop/test_redis_tls.py runs it against a real redis-server over TLS.)
@Suite struct TLSClientSessionTests {
    init() { signal(SIGPIPE, SIG_IGN) }  // as quench does: OpenSSL writes through the socket BIO

    @Test func aCAFileThatDoesNotLoadSaysWhy() {
        #expect(TLSClientSession.problem(withCAFile: "/nonexistent/ca.pem")?.hasPrefix("cannot load the CA certificates /nonexistent/ca.pem: ") == true)
        let notPEM = TLSClientSession.problem(withCAFile: "/proc/self/cmdline")
        #expect(notPEM?.contains("no certificate or crl found") == true, "\(notPEM ?? "loaded")")
        let bundle = "/etc/ssl/certs/ca-certificates.crt"
        if access(bundle, R_OK) == 0 { #expect(TLSClientSession.problem(withCAFile: bundle) == nil) }
    }

    /// A connected pair of non-blocking sockets: the session's end and the peer's. Close-on-exec, because
    /// other suites start redis-server meanwhile: a child holding the peer's end would hide its close.
    private func socketPair() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0)
        return (fds[0], fds[1])
    }

    @Test func aPeerThatAnswersWithoutTLSFailsTheHandshake() throws {
        let (mine, peer) = try socketPair()
        defer {
            close(mine)
            close(peer)
        }
        let session = try TLSClientSession(fd: mine, settings: .init(serverName: "localhost"))
        #expect(session.handshake() == .wantRead)  // the ClientHello went out
        var hello = [UInt8](repeating: 0, count: 4096)
        #expect(read(peer, &hello, hello.count) > 0)
        let answer = Array("-ERR unknown command\r\n".utf8)
        #expect(write(peer, answer, answer.count) == answer.count)
        guard case .failed(let reason) = session.handshake() else {
            Issue.record("a handshake with a peer that answers in RESP did not fail")
            return
        }
        #expect(reason.contains("wrong version number") || reason.contains("packet length too long"), "\(reason)")
    }

    @Test func aPeerThatClosesEndsTheHandshake() throws {
        let (mine, peer) = try socketPair()
        defer { close(mine) }
        let session = try TLSClientSession(fd: mine, settings: .init(serverName: "127.0.0.1"))
        #expect(session.handshake() == .wantRead)
        close(peer)
        let step = session.handshake()
        #expect(step == .closed || { if case .failed = step { return true } else { return false } }(), "\(step)")
    }
}
