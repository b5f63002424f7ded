#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchSystem
import Testing

@testable import QuenchRedis

/// The reader the service thread runs over a live subscription, driven by hand: a socket pair stands for
/// the connection to Redis, and a watcher that only records stands for the service loop's poll.
@Suite struct SubscriptionReaderTests {
    /// Records what it was asked to poll; the test calls the callbacks as the loop would.
    final class RecordingWatcher: DescriptorWatcher, @unchecked Sendable {
        final class Watch: DescriptorWatch {
            let readable: () -> Void
            let closed: () -> Void
            var stopped = false
            init(readable: @escaping () -> Void, closed: @escaping () -> Void) {
                self.readable = readable
                self.closed = closed
            }
            func stop() { stopped = true }
        }
        let accepts: Bool
        var watches: [Watch] = []
        init(accepts: Bool = true) { self.accepts = accepts }
        func watch(_ descriptor: Int32, readable: @escaping () -> Void, closed: @escaping () -> Void) -> (any DescriptorWatch)? {
            guard accepts else { return nil }
            watches.append(Watch(readable: readable, closed: closed))
            return watches.last
        }
    }

    final class Received: @unchecked Sendable {
        var messages: [(String?, String)] = []
    }

    private static func pair() throws -> (reader: Int32, redis: Int32) {
        var fds: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0)
        return (fds[0], fds[1])
    }

    private static func message(_ channel: String, _ payload: String) -> String {
        "*3\r\n$7\r\nmessage\r\n$\(channel.utf8.count)\r\n\(channel)\r\n$\(payload.utf8.count)\r\n\(payload)\r\n"
    }

    @Test func messagesReadOnTheServiceThreadAreHandedOnInOrderAcrossSplitReads() throws {
        let (readerEnd, redisEnd) = try Self.pair()
        defer { close(readerEnd); close(redisEnd) }
        let received = Received()
        // Bytes read past SUBSCRIBE's replies (a message already half there) come with the parser.
        var parser = RESPParser()
        let first = Self.message("socketio", "one")
        parser.append(Array(first.utf8.prefix(10)))
        let reader = SubscriptionReader(descriptor: readerEnd, parser: parser) { received.messages.append(($0, String(decoding: $1, as: UTF8.self))) }
        let watcher = RecordingWatcher()
        reader.start(on: watcher)
        let watch = try #require(watcher.watches.first)

        let rest = String(decoding: Array(first.utf8.dropFirst(10)), as: UTF8.self) + Self.message("quench:socketio:to:abc", "two") + "*2\r\n$4\r\npong\r\n$0\r\n\r\n"
        LoopbackListener.write(rest, to: redisEnd)
        watch.readable()
        #expect(received.messages.map(\.0) == ["socketio", "quench:socketio:to:abc"])
        #expect(received.messages.map(\.1) == ["one", "two"])
        #expect(reader.outcome(waiting: 0) == nil)

        reader.stop()
        #expect(watch.stopped)
        guard case .stopped? = reader.outcome(waiting: 0) else {
            Issue.record("reading did not stop")
            return
        }
    }

    @Test func theConnectionsEndAndAnErrorReplyEndReading() throws {
        let (readerEnd, redisEnd) = try Self.pair()
        defer { close(readerEnd) }
        let reader = SubscriptionReader(descriptor: readerEnd, parser: RESPParser()) { _, _ in }
        let watcher = RecordingWatcher()
        reader.start(on: watcher)
        let watch = try #require(watcher.watches.first)
        close(redisEnd)
        watch.readable()
        guard case .ended(let error)? = reader.outcome(waiting: 0) else {
            Issue.record("the end of the connection did not end reading")
            return
        }
        #expect("\(error)".contains("closed the connection"), "\(error)")
        #expect(watch.stopped)

        let (otherEnd, otherRedis) = try Self.pair()
        defer { close(otherEnd); close(otherRedis) }
        let second = SubscriptionReader(descriptor: otherEnd, parser: RESPParser()) { _, _ in }
        second.start(on: watcher)
        LoopbackListener.write("-ERR something went wrong\r\n", to: otherRedis)
        watcher.watches[1].readable()
        guard case .ended? = second.outcome(waiting: 0) else {
            Issue.record("an error reply did not end reading")
            return
        }
    }

    @Test func aLoopThatDeclinesGivesTheParserBack() throws {
        let (readerEnd, redisEnd) = try Self.pair()
        defer { close(readerEnd); close(redisEnd) }
        var parser = RESPParser()
        parser.append(Array("*3\r\n$7".utf8))
        let reader = SubscriptionReader(descriptor: readerEnd, parser: parser) { _, _ in }
        reader.start(on: RecordingWatcher(accepts: false))
        guard case .declined(let returned)? = reader.outcome(waiting: 0) else {
            Issue.record("a declined watch did not say so")
            return
        }
        #expect(returned.bufferedCount == parser.bufferedCount)
    }
}
