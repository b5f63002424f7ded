#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchMessageQueue
import QuenchSystem

/// The publisher: its own connection, a locked queue of PUBLISH payloads that the service thread fills
/// without ever blocking on the network, and a thread that connects, sends what had to wait, and reads
/// Redis's replies.
///
/// The fast path, on plain TCP: while the connection is up and nothing waits, the service thread writes a
/// PUBLISH to the socket itself (one non-blocking `send`), and the replies are read in bunches, once per
/// ``confirmationDelay``, so that a message costs no wake-up of the thread at all. Each wake-up of another
/// thread costs about as much CPU as the message itself: this is most of what a request passed to another
/// node costs (README, "Any node, any request"). When the socket would block, when a queue has formed, under
/// TLS (a TLS session is one thread's), or while the thread holds the connection, the payload is queued and
/// the thread sends it, pipelining whatever is queued into one write.
///
/// While Redis is unreachable or slower than the node, messages wait in a ``PublishQueue`` (10 000 messages,
/// 64 MiB); past that the oldest are dropped. Every drop is counted and logged: one warning when dropping
/// starts, and the count once the queue has drained. A batch is taken from the queue only once a connection
/// is up (Redis answered PING), so a failed connect loses nothing; a write that fails part-way puts back the
/// commands the kernel had not taken in full (see ``publishBatch(on:)``). Replies still owed after
/// ``replyTimeout`` mean Redis is gone: the connection is dropped and the log says how many messages may
/// not have been published.
final class RedisPublisher: @unchecked Sendable {  // Sendable: the mutable state is guarded by `lock`; the rest is immutable
    /// The most messages one pipelined write carries.
    static let batchLimit = 512
    /// How long replies gather before the thread reads them, in milliseconds.
    static let confirmationDelay: Int64 = 20
    /// The most messages that wait (the queue's bound, kept here to be read without the lock).
    let capacity: Int
    /// The most bytes they may hold together.
    let byteBudget: Int
    let url: RedisURL
    let channel: [UInt8]
    let log: Logger
    /// Published and dropped messages, for `/metrics`.
    let counters: MessageQueueCounters
    /// Milliseconds a write may wait for the kernel to take a byte before the connection is dropped.
    let writeTimeout: Int32
    /// Milliseconds replies may be owed without one arriving before the connection is dropped.
    let replyTimeout: Int64
    private let lock = LockedCondition()
    // Guarded by `lock`:
    private var queue: PublishQueue
    private var retryNow = false
    /// The live plain-TCP socket, which the service thread may write to while ``threadHolds`` is false.
    private var directSocket: Int32?
    /// The thread is using the connection (connecting, writing, reading replies): nobody else touches it.
    private var threadHolds = false
    /// What the kernel has not yet taken of a command the service thread began to write, and the command:
    /// the thread writes the rest before anything else (or, if it cannot, sends the whole command again).
    private var tail: (rest: [UInt8], item: PublishQueue.Item)?
    /// Commands written whose replies have not been read.
    private var owed = 0
    /// When the thread next reads replies (monotonic ms), while some are owed.
    private var confirmDue: Int64 = 0
    /// When a reply last arrived, or replies began to be owed (monotonic ms).
    private var lastReplyAt: Int64 = 0
    /// Why the service thread's own write failed (the connection broke); the thread drops the connection.
    private var directFailure: String?
    /// Messages the fast path wrote (for tests: proof that it is taken).
    private var directWrites = 0

    /// How many messages went out on the fast path so far.
    var writtenDirectly: Int { lock.withLock { directWrites } }

    init(
        url: RedisURL, channel: String, log: Logger, counters: MessageQueueCounters = MessageQueueCounters(), capacity: Int = 10_000,
        byteBudget: Int = 64 << 20, writeTimeout: Int32 = RedisConnection.writeTimeout, replyTimeout: Int64 = 5000
    ) {
        self.writeTimeout = writeTimeout
        self.replyTimeout = replyTimeout
        self.counters = counters
        self.url = url
        self.channel = Array(channel.utf8)
        self.log = log
        self.capacity = capacity
        self.byteBudget = byteBudget
        queue = PublishQueue(capacity: capacity, byteBudget: byteBudget)
    }

    func start() { BackgroundThread.start(name: "redis-publisher") { [self] in run() } }

    /// Publishes one payload on the channel. Any thread (the service thread, in practice); never blocks on I/O.
    func publish(_ payload: [UInt8]) {
        let startedDropping = lock.withLock {
            if writeDirectly(PublishQueue.Item(payload: payload)) { return false }
            let droppedBefore = queue.dropped
            let removed = queue.append(payload)
            counters.add(counters.dropped, removed)
            lock.signal()
            return removed > 0 && droppedBefore == 0
        }
        if startedDropping { warnDropping() }
    }

    /// Publishes one payload on another channel (a message for one node) when the queue has room; false when
    /// it has not (nothing is dropped for it: the caller answers its client instead). Any thread; never blocks.
    func publish(_ payload: [UInt8], to channel: [UInt8]) -> Bool {
        lock.withLock {
            let item = PublishQueue.Item(payload: payload, channel: channel)
            if writeDirectly(item) { return true }
            guard queue.appendIfRoom(item) else { return false }
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

    /// The fast path (lock held): writes `item` to the socket now if the service thread may, and says whether
    /// the item is taken care of. False when it must be queued: nothing of it was written.
    private func writeDirectly(_ item: PublishQueue.Item) -> Bool {
        guard let socket = directSocket, !threadHolds, tail == nil, queue.isEmpty else { return false }
        let command = RESPCommand.encode([Array("PUBLISH".utf8), item.channel ?? channel, item.payload])
        var written: Int
        repeat {
            written = command.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
        } while written < 0 && errno == EINTR
        if written < 0 {
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK { return false }  // a queue forms; the thread waits for room
            directFailure = "write failed: \(String(cString: strerror(code)))"
            directSocket = nil
            lock.signal()
            return false
        }
        if written < command.count {
            tail = (Array(command[written...]), item)
            lock.signal()
        }
        if owed == 0 {
            // The thread sleeps untimed while nothing is owed: one signal starts its timed reading.
            let now = ConnectPacing.now()
            lastReplyAt = now
            confirmDue = now + Self.confirmationDelay
            lock.signal()
        }
        owed += 1
        directWrites += 1
        return true
    }

    private func warnDropping() {
        log.warn("message queue: publish queue full (\(capacity) messages, \(byteBudget) bytes) while Redis is unreachable or slow; dropping the oldest")
    }

    /// What the thread does next.
    private enum Job {
        /// Send what is queued (connecting first if need be).
        case send
        /// Read the replies that have arrived.
        case confirm
        /// The service thread's write found the connection broken.
        case broken(String)
    }

    /// Waits for the thread's next job and takes the connection for it (``threadHolds``). Lock held.
    private func nextJob() -> Job {
        while true {
            if let failure = directFailure {
                directFailure = nil
                threadHolds = true
                return .broken(failure)
            }
            if !queue.isEmpty || tail != nil {
                threadHolds = true
                return .send
            }
            if owed > 0 {
                let left = confirmDue - ConnectPacing.now()
                if left <= 0 {
                    threadHolds = true
                    return .confirm
                }
                lock.wait(milliseconds: left)
                continue
            }
            lock.wait(milliseconds: nil)
        }
    }

    private func run() {
        var connection: RedisConnection?
        var pacing = ConnectPacing()
        while true {
            let job = lock.withLock { nextJob() }
            do throws(RedisError) {
                switch job {
                case .broken(let reason):
                    throw .io(reason)
                case .confirm:
                    guard let live = connection else { break }
                    try readReplies(on: live)
                case .send:
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
                }
                lock.withLock {
                    directSocket = connection?.plainDescriptor
                    threadHolds = false
                }
            } catch {
                let unconfirmed = lock.withLock {
                    defer { owed = 0 }
                    if let started = tail {
                        // Cannot happen (the thread sends a tail before anything else), but a command must not vanish.
                        _ = queue.putBack([started.item])
                        tail = nil
                    }
                    directSocket = nil
                    threadHolds = false
                    return owed
                }
                if unconfirmed > 0 {
                    // Written, but the connection went before Redis said so: sending them again could deliver them twice.
                    log.warn("message queue: connection to Redis lost (\(error)) before \(unconfirmed) messages were confirmed; they may not have been published")
                }
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

    /// Reads every reply that has arrived, without waiting. Replies still owed and none for ``replyTimeout``:
    /// Redis is gone, and the connection with it.
    private func readReplies(on live: RedisConnection) throws(RedisError) {
        var confirmed = 0
        let owedNow = lock.withLock { owed }
        while confirmed < owedNow, let reply = try live.read(timeout: 0) {
            confirmed += 1
            if case .error(let message) = reply { log.warn("message queue: PUBLISH refused: \(LogSafe.text(message))") }
        }
        counters.add(counters.published, confirmed)
        let now = ConnectPacing.now()
        let stalled = lock.withLock { () -> Bool in
            owed -= confirmed
            if confirmed > 0 { lastReplyAt = now }
            guard owed > 0 else { return false }
            confirmDue = now + Self.confirmationDelay
            return now - lastReplyAt >= replyTimeout
        }
        if stalled { throw .io("no reply to PUBLISH for \(replyTimeout) ms") }
    }

    /// Sends the rest of a command the service thread began, then up to ``batchLimit`` queued messages, in one
    /// write. Their replies are read later, with others (``readReplies(on:)``).
    ///
    /// When the write fails (the connection broke, or Redis took no bytes for the write deadline), only the
    /// commands the kernel had not taken in full go back to the queue, to be sent again on the next
    /// connection. A command whose bytes had all gone to the kernel may or may not have reached Redis and
    /// run: it is not sent again (at most once), so no emit reaches a client twice.
    private func publishBatch(on live: RedisConnection) throws(RedisError) {
        let (started, batch) = lock.withLock {
            defer { tail = nil }
            return (tail, queue.takeBatch(limit: Self.batchLimit))
        }
        var out: [UInt8] = started?.rest ?? []
        var ends: [Int] = []
        ends.reserveCapacity(batch.count + 1)
        if started != nil { ends.append(out.count) }
        for item in batch {
            RESPCommand.append([Array("PUBLISH".utf8), item.channel ?? channel, item.payload], to: &out)
            ends.append(out.count)
        }
        var handedOver = 0
        do throws(RedisError) {
            try live.send(out, handedOver: &handedOver)
        } catch {
            let items = (started.map { [$0.item] } ?? []) + batch
            let sent = Self.commandsWhole(ends: ends, handedOver: handedOver)
            if sent > 0 {
                log.warn(
                    "message queue: writing to Redis failed (\(error)); \(sent) of \(items.count) messages had gone out whole and are not sent again (they may or may not have been published), the other \(items.count - sent) wait for the next connection"
                )
            } else {
                log.warn("message queue: writing to Redis failed (\(error)); the \(items.count) messages wait for the next connection")
            }
            let startedDropping = lock.withLock {
                // The started command was owed since the service thread wrote its first bytes; this line has
                // now accounted for it. (A command cut short cannot have run: it goes back whole.)
                if started != nil { owed -= 1 }
                let droppedBefore = queue.dropped
                let removed = queue.putBack(Array(items[sent...]))
                counters.add(counters.dropped, removed)
                return removed > 0 && droppedBefore == 0
            }
            if startedDropping { warnDropping() }
            throw error
        }
        lock.withLock {
            if owed == 0, !batch.isEmpty {
                let now = ConnectPacing.now()
                lastReplyAt = now
                confirmDue = now + Self.confirmationDelay
            }
            owed += batch.count
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
