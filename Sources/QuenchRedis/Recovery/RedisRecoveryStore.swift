#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchMessageQueue
import QuenchSystem
import SocketIO

/// Connection state recovery's store in Redis (``SocketIO/RecoveryStore``): one thread with its own
/// connection runs the commands the service thread queues, in order, pipelined, and hands answers back
/// through the service executor. The service thread never waits for Redis.
///
/// Keys are named by the session's ``SocketIO/RecoveryHandle`` (`quench:<channel>:<handle>:<key>`), never by its
/// pid: reading Redis gives no pid to take a session with.
///
/// Bounded: at most ``capacity`` commands and ``byteBudget`` bytes wait; past it a command is refused (a
/// record not kept means a new session later; an append not made makes its session unrecoverable). While
/// Redis is down, commands fail at once after a failed connect (retried at most every half second): a take
/// then answers `unavailable`. An append that may not have reached Redis puts its session on a list that is
/// deleted (unrecoverable) first thing once Redis answers again: never a restore with a hole. That list is
/// bounded too (``SessionsToForget``), and its deletes go out ``forgetBatch`` sessions per command.
///
/// A take ends its pipelined batch: its reply is the only one that can be large (a session's record and
/// everything it missed), so when the reader refuses it (a protocol violation: the connection's place in
/// the stream is lost and it is made again), no other command is in flight behind it, and only that take
/// fails. The commands queued after it go out on the new connection.
public final class RedisRecoveryStore: RecoveryStore, @unchecked Sendable {  // Sendable: `jobs`, `queuedBytes`, `poisoned`, `executor`, `started`, `running` and `stopping` are guarded by `lock`; `refusedKeeps` is service-thread only; `publish` is set before start() and only read after; the rest is immutable
    public let hostID: String
    let url: RedisURL
    let channel: String
    let log: Logger
    let capacity: Int
    let byteBudget: Int
    /// How long one reply may take, in milliseconds.
    static let replyTimeout: Int32 = 2000
    static let batchLimit = 256
    /// Sessions made unrecoverable per DEL (five keys each): one command stays far below Redis' bound on a
    /// command's arguments (1,048,576) and below a second of Redis' time.
    static let forgetBatch = 1000
    /// This node's liveness key is set every ``beatInterval`` ms and expires after ``beatExpiry`` ms: a take
    /// finds whether the node recording for a session is still there (one killed without handing its
    /// sessions over is gone at most ``beatExpiry`` ms later, and its sessions are then refused).
    static let beatInterval: Int64 = 1000
    static let beatExpiry: Int64 = 5000

    private struct Job {
        let arguments: [[UInt8]]
        /// Runs on the worker thread with the reply, or the error when there was none.
        let done: (@Sendable (Result<RESPValue, RedisError>) -> Void)?
        /// For an append: the session (its handle's text) that must be made unrecoverable if it fails.
        let appendHandle: String?
        /// A take: its reply may be large, so nothing is pipelined behind it (see the type's comment).
        var endsBatch = false
        var bytes: Int { arguments.reduce(0) { $0 + $1.count } }
    }

    private let lock = LockedCondition()
    private var jobs: [Job] = []
    private var queuedBytes = 0
    /// Sessions to delete once Redis answers again (their appends may not have reached it).
    private var poisoned: SessionsToForget
    private var executor: (any ServiceExecutor)?
    private var started = false
    /// The worker is running a batch taken from `jobs`.
    private var running = false
    /// The node stops: the worker wakes the service thread once the queue has drained.
    private var stopping = false
    /// Keeps refused at the queue's bound. Service thread only.
    private var refusedKeeps: UInt64 = 0

    /// - Parameters:
    ///   - capacity: commands that may wait; default 100,000.
    ///   - byteBudget: bytes of commands that may wait; default 64 MiB.
    ///   - forgetLimit: sessions that may wait to be made unrecoverable; default 100,000.
    init(
        hostID: String, url: RedisURL, channel: String, log: Logger, capacity: Int = 100_000, byteBudget: Int = 64 << 20,
        forgetLimit: Int = 100_000
    ) {
        self.hostID = hostID
        self.url = url
        self.channel = channel
        self.log = log
        self.capacity = capacity
        self.byteBudget = byteBudget
        poisoned = SessionsToForget(limit: forgetLimit)
    }

    /// Starts the worker thread; answers go through `executor`.
    func start(executor: any ServiceExecutor) {
        let first = lock.withLock {
            self.executor = executor
            defer { started = true }
            return !started
        }
        if first { BackgroundThread.start(name: "redis-recovery") { [self] in run() } }
    }

    /// The key `suffix` of the session whose handle's text is `handle`.
    private func key(_ handle: String, _ suffix: String) -> [UInt8] { Array("quench:\(channel):\(handle):\(suffix)".utf8) }
    /// The prefix of the nodes' liveness keys (the host id follows).
    private var livenessPrefix: String { "quench:\(channel):node:" }
    private func keys(_ handle: String) -> [[UInt8]] { ["s", "c", "o", "a", "t"].map { key(handle, $0) } }

    private static func eval(_ script: String, keys: [[UInt8]], arguments: [[UInt8]]) -> [[UInt8]] {
        [Array("EVAL".utf8), Array(script.utf8), Array(String(keys.count).utf8)] + keys + arguments
    }

    /// Queues a job; false when the queue is at its bound.
    @discardableResult
    private func enqueue(_ job: Job) -> Bool {
        lock.withLock {
            guard jobs.count < capacity, queuedBytes + job.bytes <= byteBudget else {
                if let handle = job.appendHandle { forgetLocked(handle) }
                return false
            }
            jobs.append(job)
            queuedBytes += job.bytes
            lock.signal()
            return true
        }
    }

    // MARK: RecoveryStore (service thread)

    public func keep(_ session: StoredSession, window: Int64) {
        let queued = enqueue(
            Job(
                arguments: Self.eval(
                    RecoveryScripts.keep, keys: keys(session.handle.text),
                    arguments: [session.encode(), Array(hostID.utf8), Array(String(window).utf8)]), done: nil, appendHandle: nil))
        if !queued {
            // One line for the first refusal, then one per thousand.
            refusedKeeps &+= 1
            if refusedKeeps == 1 || refusedKeeps % 1000 == 0 {
                log.warn("recovery: store queue full (\(capacity) commands, \(byteBudget) bytes); sid=\(session.sid) not kept, its client will get a new session (\(refusedKeeps) so far)")
            }
        }
    }

    public func append(handle: RecoveryHandle, packet: [UInt8], adoptedFrom: String?) -> Bool {
        let list = key(handle.text, adoptedFrom == nil ? "o" : "a")
        let recorder = adoptedFrom.map { StoreTake.adoptedMarker(hostID, from: $0) } ?? hostID
        return enqueue(
            Job(
                arguments: Self.eval(
                    RecoveryScripts.append, keys: [key(handle.text, "s"), key(handle.text, "c"), list],
                    arguments: [packet, Array((adoptedFrom == nil ? "o" : "a").utf8), Array(recorder.utf8)]),
                done: nil, appendHandle: handle.text))
    }

    public func forget(handle: RecoveryHandle) {
        if !enqueue(Job(arguments: [Array("DEL".utf8)] + keys(handle.text), done: nil, appendHandle: nil)) { forgetLater(handle.text) }
    }

    /// Puts the session whose handle's text is `handle` on the list of sessions to delete once Redis answers again.
    private func forgetLater(_ handle: String) {
        lock.withLock { forgetLocked(handle) }
    }

    /// ``forgetLater(_:)`` with `lock` held; logs when the list's bound begins to drop sessions.
    private func forgetLocked(_ handle: String) {
        if poisoned.insert(handle) {
            log.warn("recovery: \(poisoned.limit) dropped sessions wait to be made unrecoverable (Redis away, or the store's queue full); the oldest are let go from now, and could be restored without what they missed if Redis still holds them when it is back")
        }
    }

    public func take(handle: RecoveryHandle, namespace: String, completion: @escaping (StoreTakeAnswer) -> Void) {
        let marker = Self.takingMessagePrefix(handle: handle, namespace: namespace, taker: hostID)
        run(RecoveryScripts.take, handle: handle, arguments: [Array(livenessPrefix.utf8), Array(hostID.utf8), Array(channel.utf8), marker], completion)
    }

    /// The taking message up to its recorder value, which the take script appends (JSON-quoted) and closes
    /// with `}`: the recorder is only known inside the script.
    static func takingMessagePrefix(handle: RecoveryHandle, namespace: String, taker: String) -> [UInt8] {
        var marker = PubSubMessage.encode(.taking(handle: handle, namespace: namespace, taker: taker, recorder: ""), hostID: taker)
        // The recorder is the last member and its value `""` the last two bytes before the closing brace.
        marker.removeLast(3)
        return marker
    }

    public func finishTake(handle: RecoveryHandle, completion: @escaping (StoreTakeAnswer) -> Void) {
        run(RecoveryScripts.finishTake, handle: handle, arguments: [Array(hostID.utf8)], completion)
    }

    public func cancelTake(handle: RecoveryHandle) {
        if !enqueue(
            Job(arguments: Self.eval(RecoveryScripts.cancelTake, keys: keys(handle.text), arguments: [Array(hostID.utf8)]), done: nil, appendHandle: nil))
        {
            forgetLater(handle.text)
        }
    }

    public func flushed(handle: RecoveryHandle, namespace: String, taker: String) {
        // On this connection, behind every append queued before it: once the taker reads it, they all ran.
        let message = PubSubMessage.encode(.flushed(handle: handle, namespace: namespace, host: hostID, taker: taker), hostID: hostID)
        if !enqueue(Job(arguments: [Array("PUBLISH".utf8), Array(channel.utf8), message], done: nil, appendHandle: nil)) {
            log.warn("recovery: store queue full; the flush for a session taken by node \(LogSafe.text(taker)) not published (its client will get a new session)")
        }
    }

    /// Runs a take script for `handle` and hands its answer to `completion` on the service thread.
    private func run(_ script: String, handle: RecoveryHandle, arguments: [[UInt8]], _ completion: @escaping (StoreTakeAnswer) -> Void) {
        let answer = ServiceThreadOnly(completion)
        let queued = enqueue(
            Job(
                arguments: Self.eval(script, keys: keys(handle.text), arguments: arguments),
                done: { [self] result in
                    let decoded = Self.takeAnswer(result)
                    if case .unavailable(let reason) = decoded { log.debug("recovery: take failed: \(reason)") }
                    // Read now, not when queued: a take queued before start() is answered all the same.
                    let executor = lock.withLock { self.executor }
                    executor?.execute { answer.value(decoded) }
                }, appendHandle: nil, endsBatch: true))
        if !queued { completion(.unavailable("store queue full")) }
    }

    public func handOver(_ sessions: [HandedOverSession], namespace: String) {
        let message = PubSubMessage.encode(.handover(host: hostID, namespace: namespace, sessions: sessions), hostID: hostID)
        let queued = enqueue(
            Job(
                arguments: Self.eval(
                    RecoveryScripts.handOver, keys: sessions.flatMap { [key($0.handle.text, "c"), key($0.handle.text, "t")] },
                    arguments: [Array(StoreTake.handoverMarker(hostID).utf8), Array(hostID.utf8), Array(channel.utf8), message]),
                done: nil, appendHandle: nil))
        if !queued { log.warn("recovery: store queue full; \(sessions.count) dropped sessions not handed over") }
    }

    public func adopt(_ sessions: [HandedOverSession], from host: String) {
        let log = log
        let count = sessions.count
        enqueue(
            Job(
                arguments: Self.eval(
                    RecoveryScripts.adopt, keys: sessions.flatMap { [key($0.handle.text, "c"), key($0.handle.text, "t")] },
                    arguments: [Array(StoreTake.handoverMarker(host).utf8), Array(StoreTake.adoptedMarker(hostID, from: host).utf8)]),
                done: { result in
                    if case .success(.integer(let won)) = result {
                        log.info("recovery: adopted \(won) of \(count) dropped sessions handed over by node \(LogSafe.text(host))")
                    }
                }, appendHandle: nil))
    }

    /// Set by the message queue: publishes an operation on the channel.
    var publish: (@Sendable (ClusterOperation) -> Void)?

    public func announceRecovered(handle: RecoveryHandle, namespace: String) {
        publish?(.recovered(handle: handle, namespace: namespace))
    }

    // MARK: Worker thread

    private func run() {
        var connection: RedisConnection?
        var pacing = ConnectPacing()  // every failed attempt backs off (0.5 s doubling to 10 s), see RedisConnection.open
        var down = false
        var lastBeat: Int64 = -Self.beatInterval
        while true {
            let (batch, deletions) = lock.withLock {
                while jobs.isEmpty && poisoned.isEmpty {
                    let waited = Self.nowMilliseconds() - lastBeat
                    if waited >= Self.beatInterval { break }
                    lock.wait(milliseconds: Self.beatInterval - waited)
                }
                var count = 0
                while count < min(jobs.count, Self.batchLimit) {
                    count += 1
                    if jobs[count - 1].endsBatch { break }
                }
                let batch = Array(jobs[0..<count])
                jobs.removeFirst(count)
                queuedBytes -= batch.reduce(0) { $0 + $1.bytes }
                let deletions = poisoned.oldest(Self.forgetBatch)
                running = !batch.isEmpty
                return (batch, deletions)
            }
            var batchAnswered = false
            var takeReplyRefused = false
            do throws(RedisError) {
                let live: RedisConnection
                if let connection {
                    live = connection
                } else {
                    live = try RedisConnection.open(url, timeout: 1000, pacing: &pacing)
                    connection = live
                    if down { log.info("recovery: store reachable again at \(url)") }
                    down = false
                }
                if Self.nowMilliseconds() - lastBeat >= Self.beatInterval {
                    try live.send(RESPCommand.encode("SET", livenessPrefix + hostID, "1", "PX", String(Self.beatExpiry)))
                    guard try live.read(timeout: Self.replyTimeout) != nil else { throw .io("no reply to SET") }
                    lastBeat = Self.nowMilliseconds()
                }
                if !deletions.isEmpty {
                    try live.send(RESPCommand.encode([Array("DEL".utf8)] + deletions.flatMap(keys)))
                    guard try live.read(timeout: Self.replyTimeout) != nil else { throw .io("no reply to DEL") }
                    let letGo = lock.withLock { poisoned.remove(deletions) }
                    log.info("recovery: \(deletions.count) dropped sessions made unrecoverable (what they missed may not have reached Redis)")
                    if let letGo {
                        log.info("recovery: every dropped session waiting to be made unrecoverable is; \(letGo) were let go at the bound meanwhile")
                    }
                }
                batchAnswered = true  // from here on run(_:on:) answers every job, failures too
                try run(batch, on: live, takeReplyRefused: &takeReplyRefused)
                batchDone()
            } catch {
                if !batchAnswered { fail(batch[...], error) }
                batchDone()
                connection?.close()
                connection = nil
                if takeReplyRefused {
                    // A take's reply past the reader's bounds (a list something else wrote): the connection's place
                    // in the stream is lost, but nothing was in flight behind it and Redis itself answers, so the
                    // commands queued after it go out on a new connection at once, not after a backoff.
                    pacing.connectionEnded(at: ConnectPacing.now())
                    pacing.allowNow()
                    log.warn("recovery: store \(url) sent a reply that cannot be read (\(error)); that take failed, the connection is made again")
                } else if !down {
                    down = true
                    log.warn("recovery: store \(url) unreachable (\(error)); recoveries on this node start new sessions until it is back")
                }
                // Only deletions left to retry: wait for the next attempt rather than spin.
                lock.withLock { if jobs.isEmpty { lock.wait(milliseconds: 500) } }
            }
        }
    }

    /// The batch taken last is answered: while the node stops, the service thread is woken once nothing is
    /// left, so that its stop (waiting for ``isDrained``) sees it at once.
    private func batchDone() {
        let (wake, executor) = lock.withLock {
            defer { running = false }
            return (running && stopping && jobs.isEmpty, self.executor)
        }
        if wake { executor?.execute {} }
    }

    /// This node stops (service thread): from now the worker wakes the service thread when the queue drains.
    public func prepareToStop() {
        lock.withLock { stopping = true }
    }

    /// Whether every command queued so far has been answered (service thread, while stopping: the stop
    /// waits for it within its deadline, so the last appends and flushes reach Redis before the exit).
    public var isDrained: Bool {
        lock.withLock { jobs.isEmpty && !running }
    }

    /// Sends `batch` in one write and hands each job its reply; on a failure, the rest get the error and
    /// their appends become unrecoverable sessions (sent, but whether Redis ran them is unknown). A take is
    /// always last in its batch, so a take's reply the reader refuses fails that take alone.
    private func run(_ batch: [Job], on live: RedisConnection, takeReplyRefused: inout Bool) throws(RedisError) {
        var out: [UInt8] = []
        for job in batch { RESPCommand.append(job.arguments, to: &out) }
        var answered = 0
        do throws(RedisError) {
            try live.send(out)
            for job in batch {
                guard let reply = try live.read(timeout: Self.replyTimeout) else { throw .io("no reply within \(Self.replyTimeout) ms") }
                answered += 1
                if case .error(let message) = reply {
                    log.warn("recovery: Redis refused a command: \(LogSafe.text(message))")
                    if let handle = job.appendHandle { forgetLater(handle) }
                }
                job.done?(.success(reply))
            }
        } catch {
            takeReplyRefused = error.isProtocolViolation && answered == batch.count - 1 && batch[answered].endsBatch
            fail(batch[answered...], error)
            throw error
        }
    }

    /// Jobs that got no reply: each is told, and each append's session becomes unrecoverable.
    private func fail(_ jobs: ArraySlice<Job>, _ error: RedisError) {
        for job in jobs {
            if let handle = job.appendHandle { forgetLater(handle) }
            job.done?(.failure(error))
        }
    }

    private static func nowMilliseconds() -> Int64 { MonotonicMilliseconds.now() }
}

/// A value that may cross threads only to be used back on the service thread (a completion handed to the
/// store's worker, which gives it to the service executor without calling it).
struct ServiceThreadOnly<Value>: @unchecked Sendable {  // Sendable: only ever touched on the service thread
    let value: Value
    init(_ value: Value) { self.value = value }
}
