import EngineIO
import QuenchMessageQueue
import SocketIO

/// A RabbitMQ (AMQP 0-9-1) message queue shared with other quench nodes and with python-socketio servers
/// and emitters (`KombuManager`, `AsyncAioPikaManager`): the same JSON messages as on Redis, carried by a
/// fanout exchange named after the channel. Each node consumes a queue of its own bound to it,
/// `python-socketio.<uuid>` as python-socketio names them (not durable, `x-expires` 300 000 ms, so the queue
/// of a node gone for good goes away and one back within five minutes finds what was sent meanwhile).
///
/// Threads: ``publish(_:)`` runs on the service thread and only queues; the publisher thread sends; the
/// consumer thread reads, decodes, drops what this node sent itself and hands the rest to the service
/// thread. Neither touches a client.
///
/// It is also the engine's ``EngineIO/NodeLink``: each node consumes a second queue, `quench.<channel>.to.<tag>`,
/// and a message for one node is published to it through the default exchange, so no other node reads it.
public final class AMQPMessageQueue: MessageQueue, @unchecked Sendable {
    public let hostID: String
    /// The exchange name (python-socketio's default channel is `socketio`).
    public let channel: String
    public let nodeTag: String
    public let counters = MessageQueueCounters()
    /// This node's queue bound to the exchange.
    public let queueName: String
    private let publisher: AMQPPublisher
    private let consumer: AMQPConsumer
    private let inbox: PubSubInbox
    private let nodeInbox: NodeInbox

    /// - Parameters:
    ///   - url: the broker.
    ///   - channel: the fanout exchange; default `socketio`.
    ///   - log: where the queue logs.
    public init(url: AMQPURL, channel: String = "socketio", log: Logger) {
        let hostID = HostID.make()
        let nodeTag = String(hostID.prefix(SessionID.nodeTagLength))
        let counters = counters
        let publisher = AMQPPublisher(url: url, exchange: channel, log: log, counters: counters)
        let inbox = PubSubInbox(hostID: hostID, counters: counters, log: log)
        let nodeInbox = NodeInbox(log: log)
        let refusals = BodyRefusals(log: log)
        self.hostID = hostID
        self.channel = channel
        self.nodeTag = nodeTag
        self.publisher = publisher
        self.inbox = inbox
        self.nodeInbox = nodeInbox
        queueName = Self.queueName(hostID: hostID)
        consumer = AMQPConsumer(
            url: url, exchange: channel, sharedQueue: queueName, nodeQueue: Self.nodeQueue(nodeTag, of: channel), log: log, counters: counters,
            receive: { own, contentType, body in
                if own {
                    nodeInbox.receive(body)
                    return
                }
                do throws(AMQPBodyError) {
                    inbox.receive(try AMQPBody.messageJSON(body, contentType: contentType))
                } catch {
                    refusals.note(error, size: body.count)
                }
            },
            consuming: { again in
                publisher.retrySoon()
                if again { inbox.resubscribed?() }
            })
    }

    /// `watcher` is not used: rabbitmq-c reads its socket on the consumer thread.
    public func start(server: SocketIOServer, executor: any ServiceExecutor, watcher: (any DescriptorWatcher)?) {
        server.adapter = self
        inbox.connect(to: server, executor: executor)
        nodeInbox.connect(to: server.engine, executor: executor)
        server.engine.link = self
        consumer.start()
        publisher.start()
    }

    public func publish(_ operation: ClusterOperation) {
        publisher.publish(PubSubMessage.encode(operation, hostID: hostID))
    }

    public func publishOnChannel(_ payload: [UInt8]) { publisher.publish(payload) }

    public func receiveLinkAnnouncements(_ handler: @escaping @Sendable ([UInt8], Bool) -> Void) { inbox.linkAnnounced.handler = handler }

    public func send(_ message: NodeMessage, to node: String) -> Bool {
        publisher.publish(NodeMessageCodec.encode(message), toQueue: Self.nodeQueue(node, of: channel))
    }

    /// The queue node `tag` reads messages addressed to it alone from: `quench.<channel>.to.<tag>`.
    public static func nodeQueue(_ tag: String, of channel: String) -> String { "quench.\(channel).to.\(tag)" }

    /// `python-socketio.` and the host id written as a UUID (8-4-4-4-12), as python-socketio names its queues.
    static func queueName(hostID: String) -> String {
        let digits = Array(hostID)
        var text = "python-socketio."
        for (index, digit) in digits.enumerated() {
            if [8, 12, 16, 20].contains(index) { text += "-" }
            text.append(digit)
        }
        return text
    }

    /// Bodies that are not python-socketio's JSON: counted, logged at most once a second (any publisher to
    /// the exchange can send anything). Consumer thread only.
    private final class BodyRefusals: @unchecked Sendable {
        let log: Logger
        private var refused = 0
        private var lastLine: Int64 = .min

        init(log: Logger) { self.log = log }

        func note(_ error: AMQPBodyError, size: Int) {
            refused += 1
            let now = ConnectPacing.now()
            guard now - lastLine >= 1000 else { return }
            lastLine = now
            log.warn("message queue: skipped \(refused) message(s) from the exchange that were not understood; the last, \(size) bytes: \(error)")
            refused = 0
        }
    }
}
