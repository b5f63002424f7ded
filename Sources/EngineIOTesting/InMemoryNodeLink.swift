import EngineIO

/// Nodes of a cluster in memory: each engine gets a link from ``join(_:tag:)``; messages wait in one queue,
/// in order, until the test calls ``deliverAll()`` (as the message queue delivers them a moment later). A
/// node taken ``offline(_:)`` receives nothing more, as a killed node.
public final class InMemoryCluster {
    public final class Link: NodeLink {
        public let nodeTag: String
        unowned let cluster: InMemoryCluster
        /// Whether ``send(_:to:)`` takes messages (false plays a full queue).
        public var accepts = true

        init(tag: String, cluster: InMemoryCluster) {
            nodeTag = tag
            self.cluster = cluster
        }

        public func send(_ message: NodeMessage, to node: String) -> Bool {
            guard accepts else { return false }
            cluster.queue.append((node, message))
            return true
        }
    }

    private var engines: [String: EngineServer] = [:]
    private var down: Set<String> = []
    fileprivate var queue: [(node: String, message: NodeMessage)] = []
    /// Every message sent so far (delivered or not), for tests that look at the traffic.
    public private(set) var sent: [NodeMessage] = []

    public init() {}

    /// Links `engine` as node `tag` (12 lowercase hex digits).
    @discardableResult
    public func join(_ engine: EngineServer, tag: String) -> Link {
        let link = Link(tag: tag, cluster: self)
        engines[tag] = engine
        engine.link = link
        return link
    }

    /// Node `tag` receives nothing from now on.
    public func offline(_ tag: String) { down.insert(tag) }

    /// Delivers every waiting message, and those their delivery sends, in order.
    public func deliverAll() {
        while !queue.isEmpty {
            let (node, message) = queue.removeFirst()
            sent.append(message)
            guard !down.contains(node), let engine = engines[node] else { continue }
            engine.receive(message)
        }
    }
}
