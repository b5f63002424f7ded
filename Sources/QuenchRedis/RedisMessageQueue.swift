#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import SocketIO

/// A Redis message queue shared with other quench nodes and with python-socketio servers and emitters
/// (python-socketio's `RedisManager`, JSON on one pub/sub channel).
///
/// Threads: ``publish(_:)`` runs on the service thread and only queues; the publisher thread sends; the
/// subscriber thread reads, decodes, drops what this node sent itself (its `host_id`) and hands the rest to
/// the service thread through the ``EngineIO/ServiceExecutor``. Neither Redis thread touches a client.
///
/// It is also the engine's ``EngineIO/NodeLink`` to the other quench nodes: each node subscribes to a channel
/// of its own as well (``nodeChannel(_:)``), and a message for one node (a passed-on request, a moved session)
/// is published there alone, so no other node reads it.
public final class RedisMessageQueue: ClusterAdapter, NodeLink, @unchecked Sendable {
    /// This node's identity on the channel: 32 lowercase hex digits, like python's `uuid4().hex`.
    public let hostID: String
    /// The channel name (python-socketio's default is `socketio`).
    public let channel: String
    /// This node's tag: the start of its host id; its sids begin with it.
    public let nodeTag: String
    /// Connected, published, received and dropped, for `/metrics`; any thread may read them.
    public let counters = MessageQueueCounters()
    private let publisher: RedisPublisher
    private let subscriber: RedisSubscriber
    private let inbox: Inbox
    /// Connection state recovery's store in the same Redis; used when the server has recovery on.
    public let recoveryStore: RedisRecoveryStore
    /// Touched on the service thread only (set in ``start(server:executor:)``).
    private weak var server: SocketIOServer?
    /// Messages from other nodes' engines that were not understood (counted; logged at most once a second).
    private let nodeInbox: NodeInbox

    /// - Parameters:
    ///   - url: the Redis server.
    ///   - channel: the pub/sub channel; default `socketio`.
    ///   - log: where the queue logs.
    public init(url: RedisURL, channel: String = "socketio", log: Logger) {
        let hostID = Self.makeHostID()
        let counters = counters
        let publisher = RedisPublisher(url: url, channel: channel, log: log, counters: counters)
        let inbox = Inbox(counters: counters)
        let nodeInbox = NodeInbox(log: log)
        self.hostID = hostID
        self.channel = channel
        nodeTag = String(hostID.prefix(SessionID.nodeTagLength))
        self.nodeInbox = nodeInbox
        self.publisher = publisher
        self.inbox = inbox
        recoveryStore = RedisRecoveryStore(hostID: hostID, url: url, channel: channel, log: log)
        subscriber = RedisSubscriber(
            url: url, channels: [channel, Self.nodeChannel(String(hostID.prefix(SessionID.nodeTagLength)), of: channel)], log: log, counters: counters,
            receive: { index, payload, here in
                if index == 0 { inbox.receive(payload, hostID: hostID, log: log, here: here) } else { nodeInbox.receive(payload, here: here) }
            },
            subscribed: { again in
                publisher.retrySoon()
                if again { inbox.resubscribed?() }
            })
    }

    /// Becomes `server`'s adapter and starts both threads. Service thread (or before the server runs).
    /// - Parameters:
    ///   - server: the Socket.IO server whose emits go out and in.
    ///   - executor: the way to the service thread.
    ///   - watcher: the service thread's poll, when it may read the subscription itself (the common case; see
    ///     ``SubscriptionReader``); nil to read it on the subscriber thread.
    public func start(server: SocketIOServer, executor: any ServiceExecutor, watcher: (any DescriptorWatcher)? = nil) {
        self.server = server
        server.adapter = self
        inbox.deliver = { [weak self] operation, bytes, here in
            if here { return self?.server?.apply(operation) ?? () }
            executor.execute(bytes: bytes) { [weak self] in self?.server?.apply(operation) }
        }
        inbox.handoverEchoed = { [weak self] namespace, here in
            if here { return self?.server?.handoverEchoed(namespace: namespace) ?? () }
            executor.execute { [weak self] in self?.server?.handoverEchoed(namespace: namespace) }
        }
        inbox.resubscribed = { [weak self] in
            executor.execute { [weak self] in self?.server?.channelInterrupted() }
        }
        nodeInbox.deliver = { [weak self] message, bytes, here in
            if here { return self?.server?.engine.receive(message) ?? () }
            executor.execute(bytes: bytes) { [weak self] in self?.server?.engine.receive(message) }
        }
        server.engine.link = self
        if server.configuration.recoveryWindow > 0 {
            recoveryStore.publish = { [weak self] operation in self?.publish(operation) }
            recoveryStore.start(executor: executor)
            server.recoveryStore = recoveryStore
        }
        if let watcher { subscriber.serviceLoop = (executor, watcher) }
        subscriber.start()
        publisher.start()
    }

    public func publish(_ operation: ClusterOperation) {
        publisher.publish(PubSubMessage.encode(operation, hostID: hostID))
    }

    /// The channel node `tag` reads messages addressed to it alone on: `quench:<channel>:to:<tag>`.
    public static func nodeChannel(_ tag: String, of channel: String) -> String { "quench:\(channel):to:\(tag)" }

    public func send(_ message: NodeMessage, to node: String) -> Bool {
        publisher.publish(NodeMessageCodec.encode(message), to: Array(Self.nodeChannel(node, of: channel).utf8))
    }

    /// Messages on this node's own channel: decoded where they are read, and handed to the engine on the
    /// service thread (at once when read there). One that is not understood is dropped and counted, its log line throttled (any
    /// writer to Redis can put anything there).
    private final class NodeInbox: @unchecked Sendable {
        /// Set once before the subscriber starts; read only by the thread that reads the subscription.
        /// Takes the message, its size, and whether it runs on the service thread.
        var deliver: (@Sendable (NodeMessage, Int, Bool) -> Void)?
        let log: Logger
        private var refused = 0
        private var lastLine: Int64 = .min

        init(log: Logger) { self.log = log }

        func receive(_ payload: [UInt8], here: Bool) {
            do throws(NodeMessageError) {
                deliver?(try NodeMessageCodec.decode(payload), payload.count, here)
            } catch {
                refused += 1
                let now = ConnectPacing.now()
                guard now - lastLine >= 1000 else { return }
                lastLine = now
                log.warn("message queue: skipped \(refused) message(s) on this node's channel that were not understood; the last, \(payload.count) bytes: \(error)")
                refused = 0
            }
        }
    }

    /// Decodes where the subscription is read, and hands on to the service thread (at once when read there).
    private final class Inbox: @unchecked Sendable {
        /// Set once before the subscriber starts; read only by the thread that reads the subscription.
        /// Takes the operation, the size of the message it came in (which the service inbox's bound counts),
        /// and whether it runs on the service thread.
        var deliver: (@Sendable (ClusterOperation, Int, Bool) -> Void)?
        /// Set with `deliver`: this node's own handover message came back (see ``RedisRecoveryStore``).
        var handoverEchoed: (@Sendable (String, Bool) -> Void)?
        /// Set with `deliver`: the subscription was lost and is back (posted in order with the messages).
        var resubscribed: (@Sendable () -> Void)?
        let counters: MessageQueueCounters

        init(counters: MessageQueueCounters) { self.counters = counters }

        func receive(_ payload: [UInt8], hostID: String, log: Logger, here: Bool) {
            let message: PubSubMessage.Decoded
            do {
                message = try PubSubMessage.decode(payload)
            } catch {
                log.warn("message queue: skipped a malformed message of \(payload.count) bytes (\(error)): \(LogSafe.bytes(payload, limit: 200))")
                return
            }
            // python-socketio: callbacks are taken only by the node they name; everything else only by the others.
            if case .callback = message.operation {
                guard message.hostID == hostID else { return }
            } else if message.hostID == hostID {
                switch message.operation {
                case .handover(_, let namespace, _):
                    handoverEchoed?(namespace, here)
                    return
                case .taking:
                    // This node's own take: its place among the emits this node receives is what it needs.
                    break
                default:
                    return
                }
            }
            log.debug("message queue: received \(payload.count) bytes: \(LogSafe.bytes(payload, limit: 300))")
            counters.add(counters.received, 1)
            deliver?(message.operation, payload.count, here)
        }
    }

    private static func makeHostID() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        for _ in 0..<32 { bytes.append(digits[Int(generator.next() % 16)]) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
