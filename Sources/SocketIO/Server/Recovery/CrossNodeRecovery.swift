/// Connection state recovery across nodes: the whole protocol on one page. Start here; each part names the
/// file that holds it. (Recovery within one node, without a store, is ``ConnectionStateRecovery`` alone.)
///
/// **What is stored** (Redis, `quench:<channel>:<handle>:<key>`, every key expiring with the recovery window),
/// where `handle` is the session's ``RecoveryHandle``: the first 32 hex digits of SHA-256("quench-recovery:" +
/// pid), computed once per drop and once per CONNECT. Neither Redis nor the channel ever sees a pid, the
/// client's only credential for taking the session; a reader of either learns handles, which lead back to no pid.
/// - `s` the session's record: handle, sid, rooms, the app's data, the owner's host id, and the packets of the
///   owner's log that reached it recently with their sequence range (``StoredSession``, StoredSession.swift).
/// - `c` its recorder: the owner's host id; `handover:<owner>` once the owner stopped; `<adopter>@<owner>`
///   once a node adopted it (``StoreTake/handoverMarker(_:)``, ``StoreTake/adoptedMarker(_:from:)``).
/// - `o` and `a`: what the owner, then an adopter, appended while it was away, one ``StoredPacket`` JSON per
///   list entry. A take returns each list as one framed string (``PacketFrames``): no count limit, only the
///   per-session byte bound (``SocketIOConfiguration/recoveryAwayBytes``, 256 KiB).
/// - `t` the node taking it while another node still records for it (the first phase of a take).
/// - `quench:<channel>:node:<host id>` each node's liveness key (set every second, expiring after 5 s).
///
/// **Who does what** (service thread, SocketIO):
/// - A drop writes the record and puts the session in ``AwaySessions``; every emit that reaches it is
///   appended until it is taken, handed over, or the window passes (`keep`, `recordAway` in
///   ConnectionStateRecovery+Store.swift).
/// - A CONNECT with a pid takes it (SocketIOServer+Restore.swift), within the take budget of its address
///   (``TakeBudget``), and completes when the answer comes back, or after ``SocketIOServer/restoreTimeout``.
///
/// **The take, exactly once** (Lua in QuenchRedis/Recovery/RecoveryScripts.swift, atomic in Redis): when nobody else
/// can still append (the taker records for it, or the recorder is gone or never adopted it), one script
/// returns everything and deletes every key. Otherwise two phases around a marker on the channel:
/// 1. `take` marks `t` and publishes `quench_taking` (``ClusterOperation/taking(handle:namespace:taker:recorder:)``)
///    from inside the script, so its place among the emits on the channel is the take's.
/// 2. The recorder, reading the channel in order, has appended every emit before the marker; at the marker it
///    stops and publishes `quench_flushed` (``ClusterOperation/flushed(handle:namespace:host:taker:)``) on its
///    store connection behind those appends (``RecoveryStore/flushed(handle:namespace:taker:)``).
/// 3. The taker collects every emit after the marker itself (``PendingRestore``); when the flush arrives,
///    `finishTake` returns the record and both lists and deletes the keys. It delivers the record's packets
///    after the client's offset, the owner's list, the adopter's list, then what it collected: once, in order.
/// 4. No flush within the deadline: `cancelTake` deletes the session (a new session, never one with a hole).
/// Then the taker publishes `quench_recovered` (``ClusterOperation/recovered(handle:namespace:)``): the recorder stops.
///
/// **The handover** (a node that stops on SIGTERM): its clients close ("server shutting down", each kept),
/// `handOver` marks its sessions `handover:<owner>` and publishes `quench_handover`
/// (``ClusterOperation/handover(host:namespace:sessions:)``); the first surviving node whose `adopt` script
/// runs becomes each one's recorder. The stopping node records until its own message comes back on the
/// channel, and exits once every command it queued for Redis has run. Sessions a node adopted are not handed
/// on (they become unrecoverable).
///
/// **The wire**: the four messages are python-socketio pub/sub messages with methods python-socketio skips
/// (QuenchRedis/PubSubMessage.swift), each naming its session by handle (`quench_handover` lists
/// `[handle, sid, rooms]`); ``SocketIOServer/apply(_:)`` (SocketIOServer+Cluster.swift) dispatches
/// them. The store itself (QuenchRedis/Recovery/RedisRecoveryStore.swift) runs the scripts on a thread of its own, in
/// order, pipelined; a take ends its batch, so a reply the reader refuses fails that take alone.
///
/// **Refusals** (a new session and an `info` or `warn` line, counted by ``RecoveryRefusalKind``): window passed
/// or unknown pid, an offset outside the record, a recorder gone (no liveness key) or never adopted, more than
/// the byte bound missed, appends that may not have reached Redis (the store's ``RecoveryStore/forget(handle:)``
/// list, deleted first thing when Redis answers again), a lost channel subscription, a recorder that did not
/// flush in time, an address past its take budget.
///
/// **The pid** stays the same across recoveries, as in socket.io: socket.io-client sets `socket.recovered` to
/// whether the CONNECT reply's pid equals the one it sent, so a new pid there would tell every official
/// client that it was not recovered. Each drop's record is taken at most once, whoever presents the pid.
enum CrossNodeRecovery {}
