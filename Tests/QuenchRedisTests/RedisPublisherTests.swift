#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchMessageQueue
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

    /// Reads PUBLISH commands from `fd`, answering each with `:1` (and the handshake's PING with PONG), until
    /// `count` arrived or 10 s passed; returns their payloads.
    /// With `answer` false it only reads (what a connection the publisher already closed had carried).
    private static func readPublishes(from fd: Int32, count: Int, answer: Bool = true, answerPublishes: Bool = true) -> [[UInt8]] {
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
                if parts.count == 1 {
                    if answer { LoopbackListener.write("+PONG\r\n", to: fd) }
                    continue
                }
                if case .bulkString(let payload) = parts.last { payloads.append(payload) }
                if answer, answerPublishes { LoopbackListener.write(":1\r\n", to: fd) }
            }
        }
        return payloads
    }

    @Test func messagesQueuedWhileTheConnectFailsAreDeliveredWhenItSucceeds() throws {
        // A free port, closed again: connecting to it is refused until the listener comes back.
        let probe = try #require(LoopbackListener())
        probe.close()
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

        let listener = try #require(LoopbackListener(port: probe.port))
        defer { listener.close() }
        publisher.retrySoon()
        let client = listener.accept()
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

    /// Redis stops reading in the middle of a pipelined batch: at the write deadline the publisher drops the
    /// connection and, on the next one, sends only the messages the kernel had not taken whole. What the first
    /// connection carried and what the second one did add up to every message once, in order.
    @Test func aStalledWriteResendsOnlyTheMessagesTheKernelDidNotTakeWhole() throws {
        let listener = try #require(LoopbackListener())
        defer { listener.close() }
        let lines = Lines()
        let url = try RedisURL(parsing: "redis://127.0.0.1:\(listener.port)")
        let publisher = RedisPublisher(url: url, channel: "socketio", log: Logger(level: .debug, sink: { lines.append($0) }), writeTimeout: 300)
        publisher.start()
        // 200 messages of 64 KiB: 12.5 MiB in one batch, more than the two sockets' buffers hold.
        let messages = (0..<200).map { Array("message \($0) ".utf8) + [UInt8](repeating: 0x79, count: 65_536) }
        for message in messages { publisher.publish(message) }

        let first = listener.accept()
        #expect(first >= 0)
        defer { Glibc.close(first) }
        #expect(String(decoding: LoopbackListener.read(from: first, atLeast: 14), as: UTF8.self) == "*1\r\n$4\r\nPING\r\n")
        LoopbackListener.write("+PONG\r\n", to: first)
        // Now read nothing, as a Redis stopped with SIGSTOP, until the publisher gives up on the write.
        let waitedAt = ContinuousClock.now
        while !lines.all.contains(where: { $0.contains("writing to Redis failed") }), ContinuousClock.now - waitedAt < .seconds(10) {
            usleep(10_000)
        }
        let failure = try #require(lines.all.first { $0.contains("writing to Redis failed") })
        #expect(failure.contains("Redis took no bytes for 300 ms (write deadline;"), "\(failure)")

        // What reached this end of the first connection (the publisher closed it; the kernel delivers the rest).
        let carried = Self.readPublishes(from: first, count: messages.count, answer: false)
        #expect(carried.count < messages.count)
        #expect(failure.contains("; \(carried.count) of 200 messages had gone out whole and are not sent again"), "\(failure)")

        let second = listener.accept()
        #expect(second >= 0)
        defer { Glibc.close(second) }
        let resent = Self.readPublishes(from: second, count: messages.count - carried.count)
        #expect(carried + resent == messages)
    }

    @Test func messagesPublishedWhileConnectedGoOutOnTheServiceThreadAndAreConfirmed() throws {
        let listener = try #require(LoopbackListener())
        defer { listener.close() }
        let url = try RedisURL(parsing: "redis://127.0.0.1:\(listener.port)")
        let publisher = RedisPublisher(url: url, channel: "socketio", log: Logger(level: .warn, sink: { _ in }))
        publisher.start()
        // The first message waits for the thread to connect; once it has, the connection is the fast path's.
        publisher.publish(Array("first".utf8))
        let client = listener.accept()
        #expect(client >= 0)
        defer { Glibc.close(client) }
        #expect(Self.readPublishes(from: client, count: 1) == [Array("first".utf8)])
        let connectedAt = ContinuousClock.now
        while publisher.counters.snapshot().published < 1, ContinuousClock.now - connectedAt < .seconds(10) { usleep(1000) }

        let messages = (0..<1000).map { Array("message \($0)".utf8) }
        for message in messages {
            if message == messages[500] { #expect(publisher.publish(message, to: Array("quench:socketio:to:abc".utf8))) } else { publisher.publish(message) }
        }
        #expect(Self.readPublishes(from: client, count: messages.count) == messages)
        #expect(publisher.writtenDirectly > 0)
        let sentAt = ContinuousClock.now
        while publisher.counters.snapshot().published < 1001, ContinuousClock.now - sentAt < .seconds(10) { usleep(1000) }
        #expect(publisher.counters.snapshot().published == 1001)
    }

    @Test func repliesOwedForTooLongDropTheConnectionWithAWarning() throws {
        let listener = try #require(LoopbackListener())
        defer { listener.close() }
        let lines = Lines()
        let url = try RedisURL(parsing: "redis://127.0.0.1:\(listener.port)")
        let publisher = RedisPublisher(url: url, channel: "socketio", log: Logger(level: .warn, sink: { lines.append($0) }), replyTimeout: 200)
        publisher.start()
        publisher.publish(Array("first".utf8))
        let client = listener.accept()
        #expect(client >= 0)
        defer { Glibc.close(client) }
        // Answers the handshake's PING, then reads the PUBLISH without answering it: a Redis that went quiet.
        #expect(Self.readPublishes(from: client, count: 1, answerPublishes: false) == [Array("first".utf8)])
        let waitedAt = ContinuousClock.now
        while !lines.all.contains(where: { $0.contains("were confirmed") }), ContinuousClock.now - waitedAt < .seconds(10) { usleep(10_000) }
        let warning = try #require(lines.all.first { $0.contains("were confirmed") })
        #expect(warning.contains("no reply to PUBLISH for 200 ms) before 1 messages were confirmed"), "\(warning)")
        // And it connects again for the next message.
        publisher.publish(Array("second".utf8))
        let again = listener.accept()
        #expect(again >= 0)
        defer { Glibc.close(again) }
        #expect(Self.readPublishes(from: again, count: 1) == [Array("second".utf8)])
    }
}
