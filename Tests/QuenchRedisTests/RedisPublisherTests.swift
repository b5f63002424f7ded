#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchSystem
import Testing

@testable import QuenchRedis

/// The publisher thread against a port where nothing listens at first, then a minimal Redis that answers
/// every PUBLISH: messages queued while the connect fails are all delivered, in order, once it succeeds.
@Suite struct RedisPublisherTests {
    /// Collects log lines (the publisher logs from its own thread).
    final class Lines: Sendable {
        private let lines = Lock<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    /// A listening socket on 127.0.0.1 (port 0 picks a free one).
    private static func listen(port: UInt16) -> (fd: Int32, port: UInt16)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 4) == 0 else {
            Glibc.close(fd)
            return nil
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            _ = $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    /// Reads PUBLISH commands from `fd`, answering each with `:1`, until `count` arrived or 10 s passed;
    /// returns their payloads.
    private static func readPublishes(from fd: Int32, count: Int) -> [[UInt8]] {
        var parser = RESPParser()
        var payloads: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var pollFD = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let deadline = 10_000
        var waited = 0
        while payloads.count < count, waited < deadline {
            guard poll(&pollFD, 1, 100) > 0 else {
                waited += 100
                continue
            }
            let read = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            guard read > 0 else { break }
            parser.append(buffer[0..<read])
            while case .array(let parts)? = try? parser.next() {
                if case .bulkString(let payload) = parts.last { payloads.append(payload) }
                _ = ":1\r\n".withCString { write(fd, $0, 4) }
            }
        }
        return payloads
    }

    @Test func messagesQueuedWhileTheConnectFailsAreDeliveredWhenItSucceeds() throws {
        // A free port, closed again: connecting to it is refused until the listener comes back.
        let probe = try #require(Self.listen(port: 0))
        Glibc.close(probe.fd)
        let lines = Lines()
        let url = try RedisURL(parsing: "redis://127.0.0.1:\(probe.port)")
        let publisher = RedisPublisher(url: url, channel: "socketio", log: Logger(level: .debug, sink: { lines.append($0) }))
        publisher.start()
        let messages = (0..<600).map { Array("message \($0)".utf8) }  // more than one batch of 512
        for message in messages { publisher.publish(message) }

        // Wait until the publisher has failed to connect at least once (its debug line says so).
        let failedAt = ContinuousClock.now
        while !lines.all.contains(where: { $0.contains("publisher cannot reach") }), ContinuousClock.now - failedAt < .seconds(10) {
            usleep(10_000)
        }
        #expect(lines.all.contains(where: { $0.contains("publisher cannot reach") }))

        let listener = try #require(Self.listen(port: probe.port))
        defer { Glibc.close(listener.fd) }
        publisher.retrySoon()
        let client = accept(listener.fd, nil, nil)
        #expect(client >= 0)
        defer { Glibc.close(client) }
        let received = Self.readPublishes(from: client, count: messages.count)
        #expect(received == messages)
        #expect(!lines.all.contains(where: { $0.contains("dropped") }))
    }

    @Test func aFullQueueDropsTheOldestWithOneWarningWhenDroppingStarts() throws {
        let lines = Lines()
        let url = try RedisURL(parsing: "redis://127.0.0.1:1")
        // Not started: nothing takes from the queue, as when Redis is away.
        let counters = MessageQueueCounters()
        let publisher = RedisPublisher(
            url: url, channel: "socketio", log: Logger(level: .debug, sink: { lines.append($0) }), counters: counters, capacity: 3)
        for index in 0..<10 { publisher.publish(Array("m\(index)".utf8)) }
        // /metrics counts every message dropped, not only the episode.
        #expect(counters.snapshot() == MessageQueueCounters.Snapshot(connected: false, published: 0, received: 0, dropped: 7))
        let warnings = lines.all.filter { $0.contains("publish queue full") }
        #expect(warnings.count == 1)
        #expect(warnings.first?.hasPrefix("warn message queue: publish queue full (3 messages, 67108864 bytes)") == true)
    }
}
