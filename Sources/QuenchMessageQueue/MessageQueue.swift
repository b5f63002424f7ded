import EngineIO
import SocketIO

/// A carrier of python-socketio's pub/sub messages (``PubSubMessage``) between nodes: Redis pub/sub, an
/// AMQP fanout exchange, or any other broker. The command line picks one by the URL's scheme; nothing
/// above this protocol names a broker.
///
/// A carrier is the Socket.IO server's ``SocketIO/ClusterAdapter`` (emits and room changes go to every
/// node) and the engine's ``EngineIO/NodeLink`` (a message for one node goes to that node alone).
public protocol MessageQueue: ClusterAdapter, NodeLink, Sendable {
    /// Connected, published, received and dropped, for `/metrics`; any thread may read them.
    var counters: MessageQueueCounters { get }
    /// This node's identity on the channel: 32 lowercase hex digits, like python's `uuid4().hex`.
    var hostID: String { get }
    /// Becomes `server`'s adapter and the engine's link, and starts the carrier's threads. Service thread
    /// (or before the server runs); a broker that is down delays the queue, never the server.
    /// `watcher` is the service thread's poll, for a carrier that can read its socket there (Redis over
    /// plain TCP); a carrier whose library reads on a thread of its own ignores it.
    func start(server: SocketIOServer, executor: any ServiceExecutor, watcher: (any DescriptorWatcher)?)
    /// Puts `payload` on the shared channel as it is (`--node-link`'s announcements). Any thread.
    func publishOnChannel(_ payload: [UInt8])
    /// Where `quench_link` messages read on the shared channel go (``DirectNodeLink``), with whether they are
    /// read on the service thread. Service thread; before that, they are skipped quietly.
    func receiveLinkAnnouncements(_ handler: @escaping @Sendable ([UInt8], Bool) -> Void)
}

/// The host id a new node takes: 32 lowercase hex digits, like python's `uuid4().hex`.
package enum HostID {
    package static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        for _ in 0..<32 { bytes.append(digits[Int(generator.next() % 16)]) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
