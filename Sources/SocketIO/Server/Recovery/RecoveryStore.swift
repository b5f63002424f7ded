/// Where connection state recovery keeps dropped sessions so that any node can restore them (the message
/// queue's Redis). The store and the channel know a session by its ``RecoveryHandle``, never by its pid. With
/// a store set, every recoverable drop is written to it and every recovery takes from it, atomically: a
/// session comes back once, on whichever node the client reaches.
///
/// Every method is called on the service thread and must not block: the store queues the work for a thread
/// of its own and hands answers back through the service executor.
public protocol RecoveryStore: AnyObject {
    /// This node's id among the nodes sharing the store (recorded as a session's owner or adopter).
    var hostID: String { get }
    /// Keeps `session` for `window` milliseconds, recorded by this node from now on.
    func keep(_ session: StoredSession, window: Int64)
    /// Appends a packet that the kept session `handle` missed. `adoptedFrom`: the stopped node this node took the
    /// session over from (the packet goes to the adopter's list, after everything the owner recorded); the
    /// store refuses appends of a node that is no longer the session's recorder.
    /// Returns false when the packet could not even be queued; the store then makes the session
    /// unrecoverable itself (never restored with a hole).
    func append(handle: RecoveryHandle, packet: [UInt8], adoptedFrom: String?) -> Bool
    /// Makes the kept session `handle` unrecoverable (it missed more than the per-session bound holds).
    func forget(handle: RecoveryHandle)
    /// Begins taking the session `handle` (of `namespace`) out, atomically: nobody can take it afterwards. Calls
    /// `completion` on the service thread with what was kept (``StoreTakeAnswer/found(_:)``, the session
    /// deleted) when no other node may still be appending to it, or ``StoreTakeAnswer/taking(record:recorder:)``
    /// when another node records for it: the store then published ``ClusterOperation/taking(handle:namespace:taker:recorder:)``
    /// on the channel, and the caller finishes with ``finishTake(handle:completion:)`` once that recorder's
    /// ``ClusterOperation/flushed(handle:namespace:host:taker:)`` comes back. Called at most once per CONNECT; the
    /// caller bounds the wait itself.
    func take(handle: RecoveryHandle, namespace: String, completion: @escaping (StoreTakeAnswer) -> Void)
    /// Ends a take this node began: returns (``StoreTakeAnswer/found(_:)``) and deletes everything kept for
    /// `handle`; ``StoreTakeAnswer/notFound`` when this node no longer holds the take (cancelled, expired).
    func finishTake(handle: RecoveryHandle, completion: @escaping (StoreTakeAnswer) -> Void)
    /// Gives up a take this node began (its deadline passed): the session is deleted, never taken by anyone.
    /// Does nothing when the session is not being taken by this node.
    func cancelTake(handle: RecoveryHandle)
    /// This node recorded for `handle` and saw `taker`'s ``ClusterOperation/taking(handle:namespace:taker:recorder:)``
    /// marker: publishes ``ClusterOperation/flushed(handle:namespace:host:taker:)`` behind every append queued
    /// so far, so the taker knows they all reached the store.
    func flushed(handle: RecoveryHandle, namespace: String, taker: String)
    /// This node stops: `sessions` are the ones it records for; another node should record for them from now.
    func handOver(_ sessions: [HandedOverSession], namespace: String)
    /// Another node stopped and handed these sessions over: try to become their recorder.
    func adopt(_ sessions: [HandedOverSession], from host: String)
    /// Tells the other nodes that `handle` was restored here, so that its recorder stops recording.
    func announceRecovered(handle: RecoveryHandle, namespace: String)
}

/// The answer to ``RecoveryStore/take(handle:namespace:completion:)``.
public enum StoreTakeAnswer: Sendable {
    case found(StoreTake)
    /// Another node records for the session: it is marked as being taken by this node (its record and
    /// recorder here), and the rest comes from ``RecoveryStore/finishTake(handle:completion:)``.
    case taking(record: [UInt8], recorder: String)
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
    /// Packets appended by the owner while it was away, oldest first (each ``StoredPacket`` JSON), framed as
    /// the store returns them: however many the per-session byte bound lets through, in one string.
    public var ownerPackets: PacketFrames
    /// Packets appended by the node that adopted it after its owner stopped, oldest first, framed.
    public var adoptedPackets: PacketFrames
    /// Whether the node recording for it is still there (its liveness key in Redis): a node killed without
    /// handing its sessions over stopped recording, so what its sessions missed since is unknown.
    public var recorderAlive: Bool

    public init(record: [UInt8], recorder: String, ownerPackets: PacketFrames, adoptedPackets: PacketFrames, recorderAlive: Bool = true) {
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
    /// The node that records for a session whose recorder value is `recorder` (an adopter's host id before
    /// its `@`), which is the node that must flush before a take by another node finishes.
    public static func recordingHost(_ recorder: String) -> Substring {
        recorder.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    }
}

/// A session a stopping node hands over: enough for the adopter to tell which emits reach it (its handle, never
/// its pid).
public struct HandedOverSession: Sendable, Equatable {
    public var handle: RecoveryHandle
    public var sid: String
    /// Named rooms (not the sid room).
    public var rooms: [String]

    public init(handle: RecoveryHandle, sid: String, rooms: [String]) {
        self.handle = handle
        self.sid = sid
        self.rooms = rooms
    }
}
