import Synchronization

/// What the message queue (Redis or AMQP) has done, for `/metrics`. Written by the publisher and subscriber
/// threads and read by the scrape on the service thread, so each is an atomic (relaxed: the figures
/// are independent, and a scrape needs no ordering between them).
public final class MessageQueueCounters: Sendable {
    /// 1 while the subscriber (Redis) or consumer (AMQP) holds a live subscription, 0 otherwise.
    package let subscribed = Atomic<Int>(0)
    /// Messages published: PUBLISH commands Redis confirmed, or basic.publish frames written to RabbitMQ.
    package let published = Atomic<Int>(0)
    /// Messages from other nodes handed to the service thread (this node's own echoes and malformed
    /// ones are not counted).
    package let received = Atomic<Int>(0)
    /// Messages dropped from the bounded publish queue (the broker unreachable, blocked or slower than this node).
    package let dropped = Atomic<Int>(0)

    package init() {}

    /// One consistent-enough reading of every counter.
    public struct Snapshot: Sendable, Equatable {
        public var connected: Bool
        public var published: Int
        public var received: Int
        public var dropped: Int

        package init(connected: Bool, published: Int, received: Int, dropped: Int) {
            self.connected = connected
            self.published = published
            self.received = received
            self.dropped = dropped
        }
    }

    public func snapshot() -> Snapshot {
        Snapshot(
            connected: subscribed.load(ordering: .relaxed) != 0, published: published.load(ordering: .relaxed),
            received: received.load(ordering: .relaxed), dropped: dropped.load(ordering: .relaxed))
    }

    package func add(_ counter: borrowing Atomic<Int>, _ amount: Int) {
        if amount != 0 { counter.add(amount, ordering: .relaxed) }
    }
}
