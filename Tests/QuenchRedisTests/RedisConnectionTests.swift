#if canImport(Glibc)
import Glibc
#endif
import QuenchSystem
import Testing

@testable import QuenchRedis

/// The connection against fake peers on loopback: only PONG makes it up, every wait has a deadline, and a
/// write that stalls says how far the kernel got.
@Suite struct RedisConnectionTests {
    /// Runs `serve` on its own thread with the first connection accepted on `listener` (-1 if none came).
    private static func serveOnce(_ listener: LoopbackListener, _ serve: @escaping @Sendable (Int32) -> Void) {
        BackgroundThread.start {
            let client = listener.accept()
            serve(client)
        }
    }

    private static func openError(_ url: RedisURL, timeout: Int32 = 3000) -> RedisError? {
        do {
            _ = try RedisConnection.open(url, timeout: timeout)
            return nil
        } catch {
            return error
        }
    }

    @Test func aPeerThatAnswersHTTPIsNotRedis() throws {
        let listener = try #require(LoopbackListener())
        defer { listener.close() }
        Self.serveOnce(listener) { fd in
            _ = LoopbackListener.read(from: fd, atLeast: 1)
            LoopbackListener.write("HTTP/1.0 400 Bad request syntax\r\nContent-Type: text/html\r\n\r\n<html>", to: fd)
            Glibc.close(fd)
        }
        let error = try #require(Self.openError(try RedisURL(parsing: "redis://127.0.0.1:\(listener.port)")))
        #expect(!error.isProtocolViolation)  // an attempt that failed, not a violation on a live connection
        #expect(error.description.contains("in the reply to PING: is this a Redis server?"), "\(error)")
    }

    @Test func aPeerThatAcceptsButNeverAnswersFailsAtTheDeadline() throws {
        let listener = try #require(LoopbackListener())
        defer { listener.close() }
        Self.serveOnce(listener) { fd in
            _ = LoopbackListener.read(from: fd, atLeast: 1 << 20, timeout: 2000)  // reads, says nothing
            Glibc.close(fd)
        }
        let started = ContinuousClock.now
        let error = try #require(Self.openError(try RedisURL(parsing: "redis://127.0.0.1:\(listener.port)"), timeout: 200))
        #expect(error.description == "no reply to PING within 200 ms")
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test func authAndSelectGoFirstAndARefusedPasswordSaysSo() throws {
        let listener = try #require(LoopbackListener())
        defer { listener.close() }
        let received = Lock<[UInt8]>([])
        Self.serveOnce(listener) { fd in
            let expected = "*3\r\n$4\r\nAUTH\r\n$3\r\napp\r\n$6\r\nsecret\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*1\r\n$4\r\nPING\r\n"
            let bytes = LoopbackListener.read(from: fd, atLeast: expected.utf8.count)
            received.withLock { $0 = bytes }
            LoopbackListener.write("-WRONGPASS invalid username-password pair or user is disabled.\r\n-NOAUTH Authentication required.\r\n", to: fd)
            LoopbackListener.write("-NOAUTH Authentication required.\r\n", to: fd)
            _ = LoopbackListener.read(from: fd, atLeast: 1, timeout: 2000)
            Glibc.close(fd)
        }
        let error = try #require(Self.openError(try RedisURL(parsing: "redis://app:secret@127.0.0.1:\(listener.port)/2")))
        #expect(error.description == "Redis refused AUTH as user \"app\": WRONGPASS invalid username-password pair or user is disabled.")
        #expect(!error.description.contains("secret"))
        #expect(
            String(decoding: received.withLock { $0 }, as: UTF8.self)
                == "*3\r\n$4\r\nAUTH\r\n$3\r\napp\r\n$6\r\nsecret\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*1\r\n$4\r\nPING\r\n")
    }

    @Test func noPasswordWhereOneIsNeededSaysSo() throws {
        let listener = try #require(LoopbackListener())
        defer { listener.close() }
        Self.serveOnce(listener) { fd in
            _ = LoopbackListener.read(from: fd, atLeast: 14)
            LoopbackListener.write("-NOAUTH Authentication required.\r\n", to: fd)
            _ = LoopbackListener.read(from: fd, atLeast: 1, timeout: 2000)
            Glibc.close(fd)
        }
        let error = try #require(Self.openError(try RedisURL(parsing: "redis://127.0.0.1:\(listener.port)")))
        #expect(error.description == "Redis wants a password and none was given (NOAUTH Authentication required.)")
    }

    @Test func aWriteThatRedisStopsTakingFailsAtItsDeadlineSayingHowFarItGot() throws {
        let listener = try #require(LoopbackListener())
        defer { listener.close() }
        let release = Lock(false)
        Self.serveOnce(listener) { fd in
            _ = LoopbackListener.read(from: fd, atLeast: 14)
            LoopbackListener.write("+PONG\r\n", to: fd)
            // Then reads nothing, as a Redis stopped with SIGSTOP, until the test is done.
            while !release.withLock({ $0 }) { usleep(10_000) }
            Glibc.close(fd)
        }
        defer { release.withLock { $0 = true } }
        let connection = try RedisConnection.open(try RedisURL(parsing: "redis://127.0.0.1:\(listener.port)"), writeTimeout: 300)
        let bytes = [UInt8](repeating: 0x78, count: 64 << 20)  // far more than both sockets' buffers hold
        var handedOver = -1
        let started = ContinuousClock.now
        do {
            try connection.send(bytes, handedOver: &handedOver)
            Issue.record("64 MiB went to a peer that reads nothing")
        } catch {
            #expect(error.description.hasPrefix("Redis took no bytes for 300 ms (write deadline; "), "\(error)")
        }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(handedOver > 0 && handedOver < bytes.count)
    }
}
