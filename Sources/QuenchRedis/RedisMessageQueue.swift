#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchMessageQueue
import SocketIO

/// A Redis message queue shared with other quench nodes and with python-socketio servers and emitters
/// (python-socketio's `RedisManager`, JSON on one pub/sub channel).
///
/// Threads: on plain TCP the service thread writes each PUBLISH itself and reads the subscription through
/// its own poll (``RedisPublisher``, ``SubscriptionReader``); the publisher and subscriber threads connect,
/// send what had to wait, read PUBLISH replies in bunches and probe a quiet connection. Under TLS the
/// subscriber thread reads, decodes, drops what this node sent itself (its `host_id`) and hands the rest to
/// the service thread through the ``EngineIO/ServiceExecutor``. Neither Redis thread touches a client.
///
/// It is also the engine's ``EngineIO/NodeLink`` to the other quench nodes: each node subscribes to a channel
/// of its own as well (``nodeChannel(_:)``), and a message for one node (a passed-on request, a moved session)
/// is published there alone, so no other node reads it.
public final class RedisMessageQueue: MessageQueue, @unchecked Sendable {
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
    private let inbox: PubSubInbox
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
        let hostID = HostID.make()
        let counters = counters
        let publisher = RedisPublisher(url: url, channel: channel, log: log, counters: counters)
        let inbox = PubSubInbox(hostID: hostID, counters: counters, log: log)
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
                if index == 0 { inbox.receive(payload, onServiceThread: here) } else { nodeInbox.receive(payload, onServiceThread: here) }
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
    public func start(server: SocketIOServer, executor: any ServiceExecutor, watcher: (any DescriptorWatcher)?) {
        self.server = server
        server.adapter = self
        inbox.connect(to: server, executor: executor)
        nodeInbox.connect(to: server.engine, executor: executor)
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

    public func publishOnChannel(_ payload: [UInt8]) { publisher.publish(payload) }

    public func receiveLinkAnnouncements(_ handler: @escaping @Sendable ([UInt8], Bool) -> Void) { inbox.linkAnnounced.handler = handler }

    public func send(_ message: NodeMessage, to node: String) -> Bool {
        publisher.publish(NodeMessageCodec.encode(message), to: Array(Self.nodeChannel(node, of: channel).utf8))
    }
}
