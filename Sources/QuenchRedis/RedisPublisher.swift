#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchMessageQueue
import QuenchSystem

/// The publisher thread: its own connection, and a locked queue of PUBLISH payloads that the service thread
/// fills without ever blocking on the network. Pipelines whatever is queued into one write.
///
/// While Redis is unreachable or slower than the node, messages wait in a ``PublishQueue`` (10 000 messages,
/// 64 MiB); past that the oldest are dropped. Every drop is counted and logged: one warning when dropping
/// starts, and the count once the queue has drained. A batch is taken from the queue only once a connection
/// is up (Redis answered PING), so a failed connect loses nothing; a write that fails part-way puts back the
/// commands the kernel had not taken in full (see ``publishBatch(on:)``).
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

    /// Milliseconds a write may wait for the kernel to take a byte before the connection is dropped.
    let writeTimeout: Int32

    init(
        url: RedisURL, channel: String, log: Logger, counters: MessageQueueCounters = MessageQueueCounters(), capacity: Int = 10_000,
        byteBudget: Int = 64 << 20, writeTimeout: Int32 = RedisConnection.writeTimeout
    ) {
        self.writeTimeout = writeTimeout
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

    /// Queues one payload for another channel (a message for one node) when the queue has room; false when
    /// it has not (nothing is dropped for it: the caller answers its client instead). Any thread; never blocks.
    func publish(_ payload: [UInt8], to channel: [UInt8]) -> Bool {
        lock.withLock {
            guard queue.appendIfRoom(PublishQueue.Item(payload: payload, channel: channel)) else { return false }
            lock.signal()
            return true
        }
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
        var pacing = ConnectPacing()
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
                    live = try RedisConnection.open(url, writeTimeout: writeTimeout, pacing: &pacing)
                    connection = live
                    lock.withLock { retryNow = false }  // a wake-up from before this connection is stale
                }
                try publishBatch(on: live)
                let lost = lock.withLock { queue.isEmpty ? queue.takeDropped() : 0 }
                if lost > 0 { log.warn("message queue: \(lost) messages were dropped while the publish queue was full") }
            } catch {
                connection?.close()
                connection = nil
                pacing.connectionEnded(at: ConnectPacing.now())
                let delay = pacing.delay(at: ConnectPacing.now())
                log.debug("message queue: publisher cannot reach \(url) (\(error)); retrying in \(delay) ms")
                // Until the backoff's delay has passed or the subscriber reached Redis (a publish also
                // signals the lock: it must not cut the wait short).
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

    /// Sends up to ``batchLimit`` queued messages in one write and reads their replies.
    ///
    /// When the write fails (the connection broke, or Redis took no bytes for the write deadline), only the
    /// commands the kernel had not taken in full go back to the queue, to be sent again on the next
    /// connection. A command whose bytes had all gone to the kernel may or may not have reached Redis and
    /// run: it is not sent again (at most once), so no emit reaches a client twice.
    private func publishBatch(on live: RedisConnection) throws(RedisError) {
        let batch = lock.withLock { queue.takeBatch(limit: Self.batchLimit) }
        var out: [UInt8] = []
        var ends: [Int] = []
        ends.reserveCapacity(batch.count)
        for item in batch {
            RESPCommand.append([Array("PUBLISH".utf8), item.channel ?? channel, item.payload], to: &out)
            ends.append(out.count)
        }
        var handedOver = 0
        do throws(RedisError) {
            try live.send(out, handedOver: &handedOver)
        } catch {
            let sent = Self.commandsWhole(ends: ends, handedOver: handedOver)
            if sent > 0 {
                log.warn(
                    "message queue: writing to Redis failed (\(error)); \(sent) of \(batch.count) messages had gone out whole and are not sent again (they may or may not have been published), the other \(batch.count - sent) wait for the next connection"
                )
            } else {
                log.warn("message queue: writing to Redis failed (\(error)); the \(batch.count) messages wait for the next connection")
            }
            let startedDropping = lock.withLock {
                let droppedBefore = queue.dropped
                let removed = queue.putBack(Array(batch[sent...]))
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

    /// How many of the commands ending at `ends` (cumulative byte offsets, ascending) lie wholly within the
    /// first `handedOver` bytes.
    static func commandsWhole(ends: [Int], handedOver: Int) -> Int {
        var low = 0
        var high = ends.count
        while low < high {
            let middle = (low + high) / 2
            if ends[middle] <= handedOver { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
