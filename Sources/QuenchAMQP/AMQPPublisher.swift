#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchMessageQueue
import QuenchSystem

/// The publisher thread: its own connection, and a locked ``QuenchMessageQueue/PublishQueue`` that the
/// service thread fills without ever blocking on the network (10 000 messages, 64 MiB; past that the oldest
/// are dropped, counted and logged).
///
/// Messages are taken from the queue only while a connection is up and the broker has not blocked it:
/// RabbitMQ sends `connection.blocked` when it hits a memory or disk alarm, and stops reading from publishing
/// connections. Publishing then waits (bounded by the queue), the log says why once, and says so again when
/// `connection.unblocked` comes. While idle the thread wakes every second to send heartbeats and read
/// what the broker sent.
final class AMQPPublisher: @unchecked Sendable {  // Sendable: `queue` and `retryNow` are guarded by `lock`; the rest is immutable or thread-owned
    /// The most messages taken from the queue at once.
    static let batchLimit = 256
    let url: AMQPURL
    let exchange: String
    let log: Logger
    let counters: MessageQueueCounters
    let capacity: Int
    let byteBudget: Int
    private let lock = LockedCondition()
    // Guarded by `lock`:
    private var queue: PublishQueue
    private var retryNow = false

    init(url: AMQPURL, exchange: String, log: Logger, counters: MessageQueueCounters, capacity: Int = 10_000, byteBudget: Int = 64 << 20) {
        self.url = url
        self.exchange = exchange
        self.log = log
        self.counters = counters
        self.capacity = capacity
        self.byteBudget = byteBudget
        queue = PublishQueue(capacity: capacity, byteBudget: byteBudget)
    }

    func start() { BackgroundThread.start(name: "amqp-publisher") { [self] in run() } }

    /// Queues one message for the exchange. Any thread; never blocks on I/O.
    func publish(_ payload: [UInt8]) {
        let startedDropping = lock.withLock {
            let droppedBefore = queue.dropped
            let removed = queue.append(payload)
            counters.add(counters.dropped, removed)
            lock.signal()
            return removed > 0 && droppedBefore == 0
        }
        if startedDropping { warnDropping() }
    }

    /// Queues one message for the queue named `routingKey` (through the default exchange) when the queue has
    /// room; false when it has not. Any thread; never blocks.
    func publish(_ payload: [UInt8], toQueue routingKey: String) -> Bool {
        lock.withLock {
            guard queue.appendIfRoom(PublishQueue.Item(payload: payload, channel: Array(routingKey.utf8))) else { return false }
            lock.signal()
            return true
        }
    }

    /// Ends the current backoff wait (the consumer just reached the broker).
    func retrySoon() {
        lock.withLock {
            retryNow = true
            lock.signal()
        }
    }

    private func warnDropping() {
        log.warn("message queue: publish queue full (\(capacity) messages, \(byteBudget) bytes) while RabbitMQ is unreachable, blocked or slow; dropping the oldest")
    }

    private func run() {
        var connection: AMQPConnection?
        var pacing = ConnectPacing()
        var blockedSince: Int64?
        while true {
            do throws(AMQPError) {
                let live: AMQPConnection
                if let connection {
                    live = connection
                } else {
                    // Connect only when there is something to send (an idle node keeps no publishing connection).
                    lock.withLock {
                        while queue.isEmpty { lock.wait(milliseconds: nil) }
                    }
                    do throws(AMQPError) {
                        live = try AMQPConnection.open(url)
                        // As Kombu's producer does: publishing to an exchange that does not exist (a broker
                        // just restarted, before the consumer declared it again) would close the channel.
                        try live.declareFanout(exchange)
                    } catch {
                        pacing.attemptFailed(at: ConnectPacing.now())
                        throw error
                    }
                    pacing.attemptSucceeded(at: ConnectPacing.now())
                    connection = live
                    blockedSince = nil
                    lock.withLock { retryNow = false }
                }
                // Whatever the broker sent: heartbeats, connection.blocked / unblocked.
                while true {
                    let event = try live.wait(milliseconds: 0, consuming: false)
                    if case .nothing = event { break }
                    switch event {
                    case .blocked(let reason):
                        blockedSince = ConnectPacing.now()
                        let waiting = lock.withLock { queue.count }
                        log.warn(
                            "message queue: RabbitMQ blocked publishing (\(reason.isEmpty ? "a resource alarm" : LogSafe.text(reason))); messages wait in the publish queue (\(waiting) now, at most \(capacity)), the oldest dropped past that; clients stay served"
                        )
                    case .unblocked:
                        let waited = blockedSince.map { ConnectPacing.now() - $0 } ?? 0
                        blockedSince = nil
                        log.info("message queue: RabbitMQ unblocked publishing after \(waited) ms; sending the waiting messages")
                    default: break
                    }
                }
                if blockedSince == nil { try publishBatch(on: live) }
                let lost = lock.withLock { queue.isEmpty ? queue.takeDropped() : 0 }
                if lost > 0 { log.warn("message queue: \(lost) messages were dropped while the publish queue was full") }
                // Idle (or blocked): wake for new messages, or within a second for heartbeats and the broker's notices.
                lock.withLock {
                    if queue.isEmpty || blockedSince != nil { lock.wait(milliseconds: 1000) }
                }
            } catch {
                connection = nil
                blockedSince = nil
                pacing.connectionEnded(at: ConnectPacing.now())
                log.debug("message queue: publisher cannot reach \(url) (\(error)); retrying in \(pacing.delay(at: ConnectPacing.now())) ms")
                let woken = lock.withLock {
                    while !retryNow {
                        let left = pacing.delay(at: ConnectPacing.now())
                        if left == 0 { break }
                        lock.wait(milliseconds: left)
                    }
                    defer { retryNow = false }
                    return retryNow
                }
                if woken { pacing.allowNow() }
            }
        }
    }

    /// Hands up to ``batchLimit`` queued messages to the connection. basic.publish has no reply (no publisher
    /// confirms, as python-socketio's managers use none), so a message counts as published once written; one
    /// whose write failed is not sent again (at most once, as on Redis).
    private func publishBatch(on live: AMQPConnection) throws(AMQPError) {
        let batch = lock.withLock { queue.takeBatch(limit: Self.batchLimit) }
        for (index, item) in batch.enumerated() {
            do throws(AMQPError) {
                if let routingKey = item.channel {
                    try live.publish(item.payload, exchange: "", routingKey: String(decoding: routingKey, as: UTF8.self))
                } else {
                    try live.publish(item.payload, exchange: exchange, routingKey: "")
                }
                counters.add(counters.published, 1)
            } catch {
                let rest = Array(batch[(index + 1)...])
                log.warn("message queue: writing to RabbitMQ failed (\(error)); 1 message may not have been published, the other \(rest.count) wait for the next connection")
                let startedDropping = lock.withLock {
                    let droppedBefore = queue.dropped
                    let removed = queue.putBack(rest)
                    counters.add(counters.dropped, removed)
                    return removed > 0 && droppedBefore == 0
                }
                if startedDropping { warnDropping() }
                throw error
            }
        }
    }
}
