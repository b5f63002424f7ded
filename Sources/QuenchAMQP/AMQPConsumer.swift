#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchMessageQueue
import QuenchSystem

/// The consumer thread: on its own connection, declares the fanout exchange, this node's queue bound to it
/// and this node's own queue (for messages addressed to it alone), consumes both, and hands each body to
/// `receive` on this thread. Reconnects and declares everything again with backoff (``ConnectPacing``).
///
/// Logs going down and coming back once each; a refused login or unknown virtual host on every attempt
/// (an operator must act on it); a queue deleted under the node (the broker cancels its consumer) is
/// declared again at once.
final class AMQPConsumer: Sendable {
    let url: AMQPURL
    /// The fanout exchange (the channel name).
    let exchange: String
    /// This node's queue bound to the exchange, and its own queue.
    let sharedQueue: String
    let nodeQueue: String
    let log: Logger
    let counters: MessageQueueCounters
    /// Gets each body, whether it came on the node's own queue, and its content type; consumer thread.
    let receive: @Sendable (_ own: Bool, _ contentType: String?, [UInt8]) -> Void
    /// After each successful declaration and consume; true when it is again after a lost one.
    let consuming: @Sendable (_ again: Bool) -> Void

    init(
        url: AMQPURL, exchange: String, sharedQueue: String, nodeQueue: String, log: Logger, counters: MessageQueueCounters,
        receive: @escaping @Sendable (Bool, String?, [UInt8]) -> Void, consuming: @escaping @Sendable (Bool) -> Void
    ) {
        self.url = url
        self.exchange = exchange
        self.sharedQueue = sharedQueue
        self.nodeQueue = nodeQueue
        self.log = log
        self.counters = counters
        self.receive = receive
        self.consuming = consuming
    }

    func start() { BackgroundThread.start(name: "amqp-consumer") { [self] in run() } }

    private func run() {
        var pacing = ConnectPacing()
        var everConsumed = false
        var down = false
        while true {
            let delay = pacing.delay(at: ConnectPacing.now())
            if delay > 0 {
                var pause = timespec(tv_sec: time_t(delay / 1000), tv_nsec: Int(delay % 1000) * 1_000_000)
                var remaining = timespec()
                while nanosleep(&pause, &remaining) != 0 && errno == EINTR { pause = remaining }
            }
            var up = false
            do throws(AMQPError) {
                let connection = try AMQPConnection.open(url)
                try connection.declareFanout(exchange)
                try connection.declareQueue(sharedQueue)
                try connection.bind(sharedQueue, to: exchange)
                try connection.declareQueue(nodeQueue)
                try connection.consume(sharedQueue)
                try connection.consume(nodeQueue)
                pacing.attemptSucceeded(at: ConnectPacing.now())
                up = true
                if down {
                    log.info("message queue: RabbitMQ \(url) is back; declared exchange \"\(exchange)\" and queue \"\(sharedQueue)\" again")
                } else if !everConsumed {
                    log.info("message queue: consuming queue \"\(sharedQueue)\" bound to fanout exchange \"\(exchange)\" on \(url)")
                }
                let again = everConsumed
                everConsumed = true
                down = false
                consuming(again)
                counters.subscribed.store(1, ordering: .relaxed)
                try listen(connection)
            } catch {
                counters.subscribed.store(0, ordering: .relaxed)
                let ended = ConnectPacing.now()
                if up { pacing.connectionEnded(at: ended) } else { pacing.attemptFailed(at: ended) }
                if case .refused(let why) = error {
                    // Every attempt: nothing changes until an operator fixes the user, password or vhost.
                    log.error(
                        "message queue: RabbitMQ \(url) refused the login or virtual host \"\(LogSafe.text(url.virtualHost))\" (\(LogSafe.text(why))); serving this node's clients only, retrying in \(pacing.delay(at: ended)) ms"
                    )
                    down = true
                } else if !down {
                    down = true
                    if everConsumed {
                        log.warn("message queue: lost RabbitMQ \(url) (\(error)); clients stay connected, retrying with backoff")
                    } else {
                        log.warn("message queue: cannot reach RabbitMQ \(url) (\(error)); serving this node's clients only, retrying with backoff")
                    }
                }
                log.debug("message queue: consumer retries in \(pacing.delay(at: ended)) ms (\(error))")
            }
        }
    }

    /// Reads deliveries until the connection fails or the broker cancels a consumer (its queue was deleted).
    private func listen(_ connection: AMQPConnection) throws(AMQPError) {
        while true {
            switch try connection.wait(milliseconds: 1000, consuming: true) {
            case .delivery(let from, let contentType, let body):
                receive(from.isEmpty, contentType, body)
            case .cancelled:
                throw .io("the broker cancelled this node's consumer (queue \"\(sharedQueue)\" or \"\(nodeQueue)\" deleted?); declaring it again")
            default:
                break
            }
        }
    }
}
