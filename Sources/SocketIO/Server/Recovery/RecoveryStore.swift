/// Where connection state recovery keeps dropped sessions so that any node can restore them (the message
/// queue's Redis). With a store set, every recoverable drop is written to it and every recovery takes from
/// it, atomically: a session comes back once, on whichever node the client reaches.
///
/// Every method is called on the service thread and must not block: the store queues the work for a thread
/// of its own and hands answers back through the service executor.
public protocol RecoveryStore: AnyObject {
    /// This node's id among the nodes sharing the store (recorded as a session's owner or adopter).
    var hostID: String { get }
    /// Keeps `session` for `window` milliseconds, recorded by this node from now on.
    func keep(_ session: StoredSession, window: Int64)
    /// Appends a packet that the kept session `pid` missed. `adoptedFrom`: the stopped node this node took the
    /// session over from (the packet goes to the adopter's list, after everything the owner recorded); the
    /// store refuses appends of a node that is no longer the session's recorder.
    /// Returns false when the packet could not even be queued; the store then makes the session
    /// unrecoverable itself (never restored with a hole).
    func append(pid: String, packet: [UInt8], adoptedFrom: String?) -> Bool
    /// Makes the kept session `pid` unrecoverable (it missed more than the per-session bound holds).
    func forget(pid: String)
    /// Takes the session `pid` out, atomically (nobody can take it afterwards), and calls `completion` on the
    /// service thread with what was kept. Called at most once; the caller bounds the wait itself.
    func take(pid: String, completion: @escaping (StoreTakeAnswer) -> Void)
    /// This node stops: `sessions` are the ones it records for; another node should record for them from now.
    func handOver(_ sessions: [HandedOverSession], namespace: String)
    /// Another node stopped and handed these sessions over: try to become their recorder.
    func adopt(_ sessions: [HandedOverSession], from host: String)
    /// Tells the other nodes that `pid` was restored here, so that its recorder stops recording.
    func announceRecovered(pid: String, namespace: String)
}

/// The answer to ``RecoveryStore/take(pid:completion:)``.
public enum StoreTakeAnswer: Sendable {
    case found(StoreTake)
    case notFound
    /// The store could not be asked (down, slow, or its queue full): the reason, for the log.
    case unavailable(String)
}

/// What a take found: the session record as written and the packets recorded while it was away.
public struct StoreTake: Sendable {
    /// The record's JSON (``StoredSession/encode()``).
    public var record: [UInt8]
    /// Who records for it now: the owner's host id, an adopter's, or ``handoverMarker(_:)`` of the owner
    /// when its owner stopped and no node took it over (then what it missed since is unknown).
    public var recorder: String
    /// Packets appended by the owner while it was away, oldest first (each ``StoredPacket`` JSON).
    public var ownerPackets: [[UInt8]]
    /// Packets appended by the node that adopted it after its owner stopped, oldest first.
    public var adoptedPackets: [[UInt8]]
    /// Whether the node recording for it is still there (its liveness key in Redis): a node killed without
    /// handing its sessions over stopped recording, so what its sessions missed since is unknown.
    public var recorderAlive: Bool

    public init(record: [UInt8], recorder: String, ownerPackets: [[UInt8]], adoptedPackets: [[UInt8]], recorderAlive: Bool = true) {
        self.record = record
        self.recorder = recorder
        self.ownerPackets = ownerPackets
        self.adoptedPackets = adoptedPackets
        self.recorderAlive = recorderAlive
    }

    /// The recorder value of a session whose owner `host` stopped and handed it over, until a node adopts it.
    public static func handoverMarker(_ host: String) -> String { "handover:" + host }
    /// The recorder value of a session `adopter` took over from `owner`.
    public static func adoptedMarker(_ adopter: String, from owner: String) -> String { adopter + "@" + owner }
}

/// A session a stopping node hands over: enough for the adopter to tell which emits reach it.
public struct HandedOverSession: Sendable, Equatable {
    public var pid: String
    public var sid: String
    /// Named rooms (not the sid room).
    public var rooms: [String]

    public init(pid: String, sid: String, rooms: [String]) {
        self.pid = pid
        self.sid = sid
        self.rooms = rooms
    }
}
