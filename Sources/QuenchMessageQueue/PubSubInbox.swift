import EngineIO
import Synchronization
import SocketIO

/// The shared channel's messages as the carrier reads them: decoded there, filtered by `host_id` as
/// python-socketio does, then posted to the service thread, or applied at once when the carrier reads on the
/// service thread itself (Redis over plain TCP). The carrier only hands over bytes.
package final class PubSubInbox: @unchecked Sendable {
    /// Set once before the reader starts; read only by the reader afterwards. Takes the operation, the size
    /// of the message it came in (which the service inbox's bound counts), and whether it runs on the service
    /// thread already.
    package var deliver: (@Sendable (ClusterOperation, Int, Bool) -> Void)?
    /// Set with `deliver`: this node's own handover message came back (see cross-node recovery).
    package var handoverEchoed: (@Sendable (String, Bool) -> Void)?
    /// Set with `deliver`: the subscription was lost and is back (posted in order with the messages).
    package var resubscribed: (@Sendable () -> Void)?
    /// `--node-link`'s announcements (``LinkAnnouncement``): set on the service thread while the reader runs,
    /// hence the lock-free box.
    package let linkAnnounced = LinkAnnouncementRoute()
    let counters: MessageQueueCounters
    let hostID: String
    let log: Logger
    /// Touched on the service thread only (set in ``connect(to:executor:)``).
    private weak var server: SocketIOServer?

    package init(hostID: String, counters: MessageQueueCounters, log: Logger) {
        self.hostID = hostID
        self.counters = counters
        self.log = log
    }

    /// Wires `deliver`, `handoverEchoed` and `resubscribed` to `server` through `executor`.
    package func connect(to server: SocketIOServer, executor: any ServiceExecutor) {
        self.server = server
        deliver = { [weak self] operation, bytes, here in
            if here { return self?.server?.apply(operation) ?? () }
            executor.execute(bytes: bytes) { [weak self] in self?.server?.apply(operation) }
        }
        handoverEchoed = { [weak self] namespace, here in
            if here { return self?.server?.handoverEchoed(namespace: namespace) ?? () }
            executor.execute { [weak self] in self?.server?.handoverEchoed(namespace: namespace) }
        }
        resubscribed = { [weak self] in
            executor.execute { [weak self] in self?.server?.channelInterrupted() }
        }
    }

    /// - Parameters:
    ///   - payload: one message as the broker delivered it.
    ///   - onServiceThread: whether this runs on the service thread (then nothing is posted).
    package func receive(_ payload: [UInt8], onServiceThread: Bool = false) {
        if LinkAnnouncement.isAnnouncement(payload) {
            linkAnnounced.handler?(payload, onServiceThread)
            return
        }
        let message: PubSubMessage.Decoded
        do {
            message = try PubSubMessage.decode(payload)
        } catch {
            // Anyone who can publish on the channel can send these at will: a few lines per window, then a count.
            log.limited(.warn, cause: "queue-malformed", source: "message-queue",
                "message queue: skipped a malformed message of \(payload.count) bytes (\(error)): \(LogSafe.bytes(payload, limit: 200))")
            return
        }
        // python-socketio: callbacks are taken only by the node they name; everything else only by the others.
        if case .callback = message.operation {
            guard message.hostID == hostID else { return }
        } else if message.hostID == hostID {
            switch message.operation {
            case .handover(_, let namespace, _):
                handoverEchoed?(namespace, onServiceThread)
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
        deliver?(message.operation, payload.count, onServiceThread)
    }
}

/// Where announcements go, set once on the service thread and read by the channel's reader.
package final class LinkAnnouncementRoute: Sendable {
    private let box = Mutex<(@Sendable ([UInt8], Bool) -> Void)?>(nil)
    package init() {}
    package var handler: (@Sendable ([UInt8], Bool) -> Void)? {
        get { box.withLock { $0 } }
        set { box.withLock { $0 = newValue } }
    }
}
