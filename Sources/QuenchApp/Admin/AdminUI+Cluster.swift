import EngineIO
import SocketIO

/// The Admin UI across a cluster's nodes: what the admin namespaces tell each other through the message
/// queue, so that one UI connected to any node sees and acts on all of them.
extension AdminUI {
    /// Sockets one node sends in answer to another's list request (about 400 bytes each on the channel).
    static let maxSocketsPerPeerList = 2_000
    /// Socket lists a node sends other nodes per second at most (each admin login asks every node for one).
    static let listAnswersPerSecond = 2

    /// What the admin namespaces of a cluster's nodes tell each other (``Namespace/publishToPeers(_:_:)``,
    /// carried by the message queue as `quench_app`): an action to apply to their own sockets, a request for
    /// their sockets on behalf of an admin client that just connected, and the answer to it. Whoever can
    /// publish on the channel can send these, as it can any emit or disconnect: the Redis is trusted.
    enum PeerMessage {
        /// `[action, [its arguments]]`: apply an action the UI sent to another node.
        static let action = "admin_action"
        /// `[admin sid]`: send that admin client this node's sockets.
        static let listSockets = "admin_list_sockets"
        /// `[admin sid, [serialized sockets]]`: another node's sockets, for that admin client if it is here.
        static let sockets = "admin_sockets"
        /// `[]`: the sender has admin clients (sent every stats period while it does).
        static let watching = "admin_watching"
    }

    func peerMessage(_ name: String, _ arguments: [JSONValue]) {
        if name == PeerMessage.watching || name == PeerMessage.listSockets {
            peersWatchingUntil = engine.now + Self.presenceLifetime * configuration.statsInterval
            updateObserver()
        }
        switch name {
        case PeerMessage.watching:
            break
        case PeerMessage.action:
            guard let action = arguments.first?.stringValue, let actionArguments = arguments.last?.arrayValue, arguments.count == 2,
                let request = AdminAction(action, actionArguments)
            else { return log.info("admin: ignored a malformed action from another node") }
            guard !configuration.readOnly else { return log.info("admin: refused \(action) from another node: this node is read-only") }
            guard let target = server.servedNamespaces.first(where: { $0.name == request.namespace }) else { return }
            apply(request, on: target)
        case PeerMessage.listSockets:
            guard let sid = arguments.first?.stringValue else { return }
            guard listAnswers.take(now: engine.now) else {
                return log.limited(.info, cause: "admin-list", source: "peers", "admin: a socket list asked by another node not sent: over \(Self.listAnswersPerSecond) a second")
            }
            namespace.publishToPeers(PeerMessage.sockets, [.string(sid), .array(allSockets(limit: Self.maxSocketsPerPeerList))])
        case PeerMessage.sockets:
            guard arguments.count == 2, let sid = arguments[0].stringValue, let admin = namespace.sockets[sid], let listed = arguments[1].arrayValue
            else { return }
            let time = JSONValue.string(ISOTime.text(milliseconds: wallNow))
            for entry in listed.prefix(Self.maxSocketsPerPeerList) { admin.emit("socket_connected", [entry, time]) }
        default:
            log.debug("admin: unknown message \(LogSafe.text(name)) from another node")
        }
    }
}
