#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchSystem

/// The publisher thread: its own connection, and a locked queue of PUBLISH payloads that the service thread
/// fills without ever blocking on the network. Pipelines whatever is queued into one write.
///
/// While Redis is unreachable or slower than the node, messages wait in a ``PublishQueue`` (10 000 messages,
/// 64 MiB); past that the oldest are dropped. Every drop is counted and logged: one warning when dropping
/// starts, and the count once the queue has drained. A batch is taken from the queue only once a connection
/// is up, and put back if it cannot be written, so a failed connect loses nothing.
final class RedisPublisher: @unchecked Sendable {  // Sendable: `queue` and `retryNow` are guarded by `lock`; the rest is immutable
    /// The most messages one pipelined write carries.
    static let batchLimit = 512
    /// The most messages that wait (the queue's bound, kept here to be read without the lock).
    let capacity: Int
    /// The most bytes they may hold together.
    let byteBudget: Int
    let url: RedisURL
    let channel: [UInt8]
    let log: Logger
    /// Published and dropped messages, for `/metrics`.
    let counters: MessageQueueCounters
    private let lock = LockedCondition()
    // Guarded by `lock`:
    private var queue: PublishQueue
    private var retryNow = false

    init(url: RedisURL, channel: String, log: Logger, counters: MessageQueueCounters = MessageQueueCounters(), capacity: Int = 10_000, byteBudget: Int = 64 << 20) {
        self.counters = counters
        self.url = url
        self.channel = Array(channel.utf8)
        self.log = log
        self.capacity = capacity
        self.byteBudget = byteBudget
        queue = PublishQueue(capacity: capacity, byteBudget: byteBudget)
    }

    func start() { BackgroundThread.start { [self] in run() } }

    /// Queues one payload. Any thread (the service thread, in practice); never blocks on I/O.
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

    /// Ends the current backoff wait (the subscriber just reached Redis).
    func retrySoon() {
        lock.withLock {
            retryNow = true
            lock.signal()
        }
    }

    private func warnDropping() {
        log.warn("message queue: publish queue full (\(capacity) messages, \(byteBudget) bytes) while Redis is unreachable or slow; dropping the oldest")
    }

    private func run() {
        var connection: RedisConnection?
        var backoff = RetryBackoff()
        while true {
            lock.withLock {
                while queue.isEmpty { lock.wait(milliseconds: nil) }
            }
            do throws(RedisError) {
                // Connect before taking anything: while Redis is down the messages stay queued (and bounded).
                let live: RedisConnection
                if let connection {
                    live = connection
                } else {
                    live = try RedisConnection.open(url)
                    connection = live
                }
                try publishBatch(on: live)
                backoff.reset()
                let lost = lock.withLock { queue.isEmpty ? queue.takeDropped() : 0 }
                if lost > 0 { log.warn("message queue: \(lost) messages were dropped while the publish queue was full") }
            } catch {
                connection?.close()
                connection = nil
                let delay = backoff.next()
                log.debug("message queue: publisher cannot reach \(url) (\(error)); retrying in \(delay) ms")
                lock.withLock {
                    if !retryNow { lock.wait(milliseconds: delay) }
                    retryNow = false
                }
            }
        }
    }

    /// Sends up to ``batchLimit`` queued messages in one write and reads their replies.
    private func publishBatch(on live: RedisConnection) throws(RedisError) {
        let batch = lock.withLock { queue.takeBatch(limit: Self.batchLimit) }
        var out: [UInt8] = []
        for payload in batch { RESPCommand.append([Array("PUBLISH".utf8), channel, payload], to: &out) }
        do throws(RedisError) {
            try live.send(out)
        } catch {
            // Nothing was acknowledged: send them again after reconnecting (within the bound).
            let startedDropping = lock.withLock {
                let droppedBefore = queue.dropped
                let removed = queue.putBack(batch)
                counters.add(counters.dropped, removed)
                return removed > 0 && droppedBefore == 0
            }
            if startedDropping { warnDropping() }
            throw error
        }
        var confirmed = 0
        do throws(RedisError) {
            for _ in batch {
                guard let reply = try live.read(timeout: 5000) else { throw .io("no reply to PUBLISH") }
                confirmed += 1
                counters.add(counters.published, 1)
                if case .error(let message) = reply { log.warn("message queue: PUBLISH refused: \(LogSafe.text(message))") }
            }
        } catch {
            // Written, but the connection went before Redis said so: sending them again could deliver them twice.
            log.warn("message queue: connection to Redis lost before \(batch.count - confirmed) of \(batch.count) messages were confirmed; they may not have been published")
            throw error
        }
    }
}
