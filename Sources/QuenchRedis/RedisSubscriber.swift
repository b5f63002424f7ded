#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchMessageQueue
import QuenchSystem

/// The subscriber thread: SUBSCRIBE to the channel on its own connection, read messages forever, hand each
/// raw payload to `receive`. Reconnects with backoff (``ConnectPacing``: every failure of any kind, and a
/// connection that breaks soon after it was made); logs going down and coming back once each at warn/info,
/// every retry at debug.
///
/// Where the service loop lends its poll (``serviceLoop``, plain TCP), the service thread reads the live
/// subscription itself (``SubscriptionReader``) and `receive` runs there; this thread then only connects,
/// subscribes, probes a quiet connection and notices its end. Otherwise it reads, and `receive` runs here.
final class RedisSubscriber: @unchecked Sendable {  // Sendable: immutable but for `serviceLoop`, set once before start()
    /// How long a quiet connection waits before it PINGs Redis to prove it is alive, in milliseconds.
    static let idleProbe: Int32 = 15_000
    let url: RedisURL
    /// The shared channel, then any others (this node's own, for messages addressed to it alone).
    let channels: [String]
    var channel: String { channels[0] }
    let log: Logger
    /// Sets `subscribed` while a subscription is live.
    let counters: MessageQueueCounters
    /// Gets each message's payload and the index in ``channels`` of the channel it came on, and whether it
    /// runs on the service thread (else on the subscriber thread).
    let receive: @Sendable (_ channel: Int, [UInt8], _ onServiceThread: Bool) -> Void
    /// The service thread's poll and the way to reach it, when the service thread may read the subscription.
    /// Set once before ``start()``.
    var serviceLoop: (executor: any ServiceExecutor, watcher: any DescriptorWatcher)?
    /// Runs on the subscriber thread after each successful SUBSCRIBE (the publisher uses it to retry at once),
    /// with true when it is a subscription again after a lost one (messages published meanwhile were missed).
    let subscribed: @Sendable (_ again: Bool) -> Void

    init(
        url: RedisURL, channels: [String], log: Logger, counters: MessageQueueCounters,
        receive: @escaping @Sendable (_ channel: Int, [UInt8], _ onServiceThread: Bool) -> Void,
        subscribed: @escaping @Sendable (_ again: Bool) -> Void
    ) {
        self.url = url
        self.channels = channels
        self.log = log
        self.counters = counters
        self.receive = receive
        self.subscribed = subscribed
    }

    func start() { BackgroundThread.start(name: "redis-subscribe") { [self] in run() } }

    private func run() {
        var pacing = ConnectPacing()
        var everSubscribed = false
        var down = false
        while true {
            let delay = pacing.delay(at: ConnectPacing.now())
            if delay > 0 {
                var pause = timespec(tv_sec: time_t(delay / 1000), tv_nsec: Int(delay % 1000) * 1_000_000)
                var remaining = timespec()
                while nanosleep(&pause, &remaining) != 0 && errno == EINTR { pause = remaining }
            }
            do throws(RedisError) {
                // Up only once Redis answered PING (after AUTH) and SUBSCRIBE: a port that accepts TCP and
                // speaks something else, or a stopped Redis, is a failure like a refused connect.
                let connection = try RedisConnection.open(url, pacing: &pacing)
                try subscribe(connection)
                if down {
                    log.info("message queue: Redis \(url) is back; resubscribed to channel \"\(channel)\"")
                } else if !everSubscribed {
                    log.info("message queue: subscribed to channel \"\(channel)\" on \(url)")
                }
                let again = everSubscribed
                everSubscribed = true
                down = false
                subscribed(again)
                counters.subscribed.store(1, ordering: .relaxed)
                if let loop = serviceLoop, let handed = connection.handOverReading() {
                    try listenOnServiceThread(connection, handed, loop)
                } else {
                    try listen(connection)
                }
            } catch {
                counters.subscribed.store(0, ordering: .relaxed)
                // One reading of the clock for the end and the delay logged below: two could differ by a
                // millisecond and log a delay a hair short of the backoff's step.
                let ended = ConnectPacing.now()
                pacing.connectionEnded(at: ended)
                if !down {
                    down = true
                    if everSubscribed {
                        log.warn("message queue: lost Redis \(url) (\(error)); clients stay connected, retrying with backoff")
                    } else {
                        log.warn("message queue: cannot reach Redis \(url) (\(error)); serving this node's clients only, retrying with backoff")
                    }
                }
                log.debug("message queue: subscriber retries in \(pacing.delay(at: ended)) ms (\(error))")
            }
        }
    }

    private func subscribe(_ connection: RedisConnection) throws(RedisError) {
        try connection.send(RESPCommand.encode((["SUBSCRIBE"] + channels).map { Array($0.utf8) }))
        for _ in channels {
            guard let reply = try connection.read(timeout: 5000) else { throw .io("no reply to SUBSCRIBE") }
            if case .error(let message) = reply { throw .reply("SUBSCRIBE refused: \(LogSafe.text(message))") }
            guard case .array(let parts) = reply, parts.first?.text == "subscribe" else {
                throw .protocolError("unexpected reply to SUBSCRIBE")
            }
        }
    }

    /// Reads messages until the connection fails. A connection quiet for ``idleProbe`` gets a PING; a second
    /// quiet period without the pong means Redis is gone.
    private func listen(_ connection: RedisConnection) throws(RedisError) {
        var awaitingPong = false
        while true {
            guard let reply = try connection.read(timeout: Self.idleProbe) else {
                if awaitingPong { throw .io("no answer to PING within \(Self.idleProbe) ms") }
                try connection.send(RESPCommand.encode("PING"))
                awaitingPong = true
                continue
            }
            awaitingPong = false
            guard case .array(let parts) = reply, let kind = parts.first?.text else {
                if case .error(let message) = reply { throw .reply(LogSafe.text(message)) }
                continue
            }
            if kind == "message", parts.count == 3, let payload = parts[2].bytes {
                let name = parts[1].text
                receive(channels.firstIndex { $0 == name } ?? 0, payload, false)
            }
        }
    }

    /// While the service thread reads: probes a connection quiet for ``idleProbe`` with a PING, and returns
    /// (throwing) once the reader says the connection ended or the PING went unanswered for another
    /// ``idleProbe``. Before it throws, the socket is shut down, so that the service thread's duplicate of it
    /// ends too and no message of the old subscription can follow those of the next.
    private func listenOnServiceThread(
        _ connection: RedisConnection, _ handed: (descriptor: Int32, parser: RESPParser), _ loop: (executor: any ServiceExecutor, watcher: any DescriptorWatcher)
    ) throws(RedisError) {
        let channels = channels
        let receive = receive
        let reader = SubscriptionReader(descriptor: handed.descriptor, parser: handed.parser) { name, payload in
            receive(channels.firstIndex { $0 == name } ?? 0, payload, true)
        }
        loop.executor.execute { reader.start(on: loop.watcher) }
        var pingSentAt: Int64?
        do throws(RedisError) {
            while true {
                let lastRead = reader.lastReadAt.load(ordering: .relaxed)
                if let sent = pingSentAt, lastRead >= sent { pingSentAt = nil }
                let now = ConnectPacing.now()
                let deadline = (pingSentAt ?? lastRead) + Int64(Self.idleProbe)
                if now >= deadline {
                    if pingSentAt != nil { throw .io("no answer to PING within \(Self.idleProbe) ms") }
                    try connection.send(RESPCommand.encode("PING"))
                    pingSentAt = now
                    continue
                }
                switch reader.outcome(waiting: deadline - now) {
                case nil: continue
                case .declined(let parser)?:
                    connection.takeBackReading(parser)
                    try listen(connection)
                    return
                case .ended(let error)?: throw error
                case .stopped?: throw .io("reading stopped")
                }
            }
        } catch {
            connection.shutDown()
            _ = reader.outcome(waiting: 1000)
            throw error
        }
    }
}
