#if canImport(Glibc)
import Glibc
#endif
import EngineIO

/// The publisher thread: its own connection, and a locked queue of PUBLISH payloads that the service thread
/// fills without ever blocking on the network. Pipelines whatever is queued into one write.
///
/// While Redis is unreachable, up to ``capacity`` messages wait (the oldest are dropped beyond that, with one
/// warning per outage) and go out when it returns.
final class RedisPublisher: @unchecked Sendable {
    /// Most messages kept while Redis is unreachable.
    let capacity: Int
    let url: RedisURL
    let channel: [UInt8]
    let log: Logger
    private let lock = LockedCondition()
    // Guarded by `lock`:
    private var pending: [[UInt8]] = []
    private var head = 0
    private var dropped = 0
    private var retryNow = false

    init(url: RedisURL, channel: String, log: Logger, capacity: Int = 10_000) {
        self.url = url
        self.channel = Array(channel.utf8)
        self.log = log
        self.capacity = capacity
    }

    func start() { BackgroundThread.start { [self] in run() } }

    /// Queues one payload. Any thread (the service thread, in practice); never blocks on I/O.
    func publish(_ payload: [UInt8]) {
        lock.withLock {
            if pending.count - head >= capacity {
                head += 1
                dropped += 1
                if dropped == 1 { log.warn("message queue: Redis unreachable and \(capacity) messages waiting; dropping the oldest") }
            }
            pending.append(payload)
            lock.signal()
        }
    }

    /// Ends the current backoff wait (the subscriber just reached Redis).
    func retrySoon() {
        lock.withLock {
            retryNow = true
            lock.signal()
        }
    }

    private func run() {
        var connection: RedisConnection?
        var backoff = RetryBackoff()
        while true {
            let batch: [[UInt8]] = lock.withLock {
                while pending.count == head { lock.wait(milliseconds: nil) }
                let taken = Array(pending[head..<min(pending.count, head + 512)])
                head += taken.count
                if head == pending.count {
                    pending.removeAll(keepingCapacity: true)
                    head = 0
                }
                return taken
            }
            do throws(RedisError) {
                let live: RedisConnection
                if let connection {
                    live = connection
                } else {
                    live = try RedisConnection.open(url)
                    connection = live
                }
                var out: [UInt8] = []
                for payload in batch { RESPCommand.append([Array("PUBLISH".utf8), channel, payload], to: &out) }
                do throws(RedisError) {
                    try live.send(out)
                } catch {
                    requeue(batch)  // nothing was acknowledged: send them again after reconnecting
                    throw error
                }
                for _ in batch {
                    guard let reply = try live.read(timeout: 5000) else { throw .io("no reply to PUBLISH") }
                    if case .error(let message) = reply { log.warn("message queue: PUBLISH refused: \(message)") }
                }
                backoff.reset()
                let lost = lock.withLock {
                    defer { dropped = 0 }
                    return dropped
                }
                if lost > 0 { log.warn("message queue: \(lost) messages were dropped while Redis was unreachable") }
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

    private func requeue(_ batch: [[UInt8]]) {
        lock.withLock {
            let rest = Array(pending[head...])
            pending = Array((batch + rest).suffix(capacity))
            head = 0
        }
    }
}
