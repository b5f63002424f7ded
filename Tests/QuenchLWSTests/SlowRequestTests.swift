#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import QuenchLWS

/// Slowloris: a request trickled a byte at a time is cut off at a deadline over the whole head or the
/// whole body, not restarted by every byte. Tested on a real server with short configured deadlines.
@Suite(.serialized) struct SlowRequestTests {
    @Test("a body trickled a byte at a time is answered 408 at its deadline, with a log line")
    func slowBody() throws {
        let loopback = try LoopbackServer { $0.bodyTimeoutMilliseconds = 300 }
        defer { loopback.stop() }
        let fd = loopback.connect()
        defer { close(fd) }
        let head = Array("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n".utf8)
        #expect(LoopbackServer.send(head, on: fd) == head.count)
        let (answer, closed) = LoopbackServer.trickle(Array(repeating: UInt8(ascii: "x"), count: 100), on: fd, gapMilliseconds: 50, seconds: 10)
        #expect(closed, "the connection is closed after the answer")
        #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 408"))
        #expect(LoopbackServer.wait(seconds: 5) {
            loopback.log.contains { $0.contains("status=408 request body not complete within 300 ms (") && $0.contains(" of 100 bytes)") }
        })
    }

    @Test("a body sent in time is served as before")
    func promptBody() throws {
        let loopback = try LoopbackServer { $0.bodyTimeoutMilliseconds = 2000 }
        defer { loopback.stop() }
        let fd = loopback.connect()
        defer { close(fd) }
        let request = Array("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello".utf8)
        #expect(LoopbackServer.send(request, on: fd) == request.count)
        let (answer, _) = LoopbackServer.trickle([], on: fd, gapMilliseconds: 0, seconds: 1)
        // No page handler: the request reaches dispatch and gets the 404 it would get anyway.
        #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 404"))
        #expect(!loopback.log.contains { $0.contains("status=408") })
    }

    @Test("headers trickled a byte at a time are cut off at the header timeout, with a log line")
    func slowHeaders() throws {
        let loopback = try LoopbackServer { $0.headerTimeoutSeconds = 1 }
        defer { loopback.stop() }
        let fd = loopback.connect()
        defer { close(fd) }
        let head = Array("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: a\r\nX-Slow: \(String(repeating: "s", count: 200))\r\n\r\n".utf8)
        let (answer, closed) = LoopbackServer.trickle(head, on: fd, gapMilliseconds: 50, seconds: 10)
        #expect(closed && answer.isEmpty, "closed without an answer, before the headers were complete")
        #expect(LoopbackServer.wait(seconds: 5) {
            loopback.log.contains { $0.contains("request headers not complete within 1 s") }
        })
    }

    @Test("a connection that got a file lws served itself (--static) and then idled is not taken for a slow one")
    func staticFileThenIdle() throws {
        let directory = "/tmp/quench-slow-request-test-\(getpid())"
        mkdir(directory, 0o755)
        let file = fopen(directory + "/a.txt", "w")
        fputs("hello\n", file)
        fclose(file)
        defer {
            unlink(directory + "/a.txt")
            rmdir(directory)
        }
        let loopback = try LoopbackServer {
            $0.headerTimeoutSeconds = 1
            $0.staticDirectory = directory
        }
        defer { loopback.stop() }
        let fd = loopback.connect()
        defer { close(fd) }
        let request = Array("GET /a.txt HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        #expect(LoopbackServer.send(request, on: fd) == request.count)
        // Keep-alive: lws answers, then closes the idle connection at its keep-alive timeout.
        let (answer, closed) = LoopbackServer.trickle([], on: fd, gapMilliseconds: 0, seconds: 15)
        #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        #expect(closed)
        #expect(!loopback.log.contains { $0.contains("request headers not complete") })
    }
}
