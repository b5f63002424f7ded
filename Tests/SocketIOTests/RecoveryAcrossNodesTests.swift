import EngineIO
import EngineIOTesting
import Testing

@testable import SocketIO

/// What Redis holds for connection state recovery, with the Lua scripts' semantics (RecoveryScripts.swift):
/// shared by the nodes of one test. Takes wait until ``answer()`` so the asynchronous CONNECT can be seen;
/// what the scripts and the flushes publish waits in ``channel`` until ``settle(_:)`` delivers it.
private final class SharedStore {
    struct Entry {
        var record: [UInt8]
        var recorder: String
        var owner: [[UInt8]] = []
        var adopted: [[UInt8]] = []
        /// The node taking it while another records for it (the first phase of a take).
        var taker: String?
    }
    /// By handle: the store never sees a pid.
    var entries: [RecoveryHandle: Entry] = [:]
    var waiting: [() -> Void] = []
    var reachable = true
    /// Host ids whose liveness key has expired (killed without a handover).
    var gone: Set<String> = []
    /// Published by the store (taking markers, flushes), oldest first.
    var channel: [ClusterOperation] = []

    /// The entry of the session whose client holds `pid`.
    subscript(pid: String) -> Entry? {
        get { entries[RecoveryHandle(pid: pid)] }
        set { entries[RecoveryHandle(pid: pid)] = newValue }
    }

    func answer() {
        let now = waiting
        waiting = []
        for job in now { job() }
    }

    /// Delivers what was published to every node, as the subscriber does (a node skips its own messages but
    /// its own taking marker), and answers the takes, until nothing is left.
    func settle(_ nodes: [Node]) {
        while !waiting.isEmpty || !channel.isEmpty {
            answer()
            let messages = channel
            channel = []
            for message in messages {
                for node in nodes {
                    switch message {
                    case .flushed(_, _, let host, _) where host == node.store.hostID: continue
                    default: node.server.apply(message)
                    }
                }
            }
        }
    }
}

/// One node's view of the shared store (its host id), as RedisRecoveryStore is.
private final class NodeStore: RecoveryStore {
    let hostID: String
    let shared: SharedStore
    var published: [ClusterOperation] = []
    /// Takes asked of the store (first phases).
    var takes = 0

    init(_ hostID: String, _ shared: SharedStore) {
        self.hostID = hostID
        self.shared = shared
    }

    func keep(_ session: StoredSession, window: Int64) {
        shared.entries[session.handle] = .init(record: session.encode(), recorder: hostID)
    }

    func append(handle: RecoveryHandle, packet: [UInt8], adoptedFrom: String?) -> Bool {
        guard var entry = shared.entries[handle] else { return true }
        if let owner = adoptedFrom {
            guard entry.recorder == StoreTake.adoptedMarker(hostID, from: owner) else { return true }
            entry.adopted.append(packet)
        } else {
            let mine = [hostID, StoreTake.handoverMarker(hostID)]
            guard mine.contains(entry.recorder) || entry.recorder.hasSuffix("@" + hostID) else { return true }
            entry.owner.append(packet)
        }
        shared.entries[handle] = entry
        return true
    }

    func forget(handle: RecoveryHandle) { shared.entries[handle] = nil }

    private func whole(_ entry: SharedStore.Entry, alive: Bool = true) -> StoreTakeAnswer {
        // Framed as the take scripts return them: one string per list, however many packets it holds.
        .found(
            StoreTake(
                record: entry.record, recorder: entry.recorder, ownerPackets: PacketFrames(packets: entry.owner),
                adoptedPackets: PacketFrames(packets: entry.adopted), recorderAlive: alive))
    }

    func take(handle: RecoveryHandle, namespace: String, completion: @escaping (StoreTakeAnswer) -> Void) {
        takes += 1
        guard shared.reachable else { return }  // never answers: the CONNECT's own deadline decides
        guard var found = shared.entries[handle], found.taker == nil else {
            shared.waiting.append { completion(.notFound) }
            return
        }
        let host = String(StoreTake.recordingHost(found.recorder))
        let alive = !shared.gone.contains(host)
        if host == hostID || !alive || found.recorder.hasPrefix(StoreTake.handoverMarker("")) {
            shared.entries[handle] = nil
            let answer = whole(found, alive: alive)
            shared.waiting.append { completion(answer) }
            return
        }
        found.taker = hostID
        shared.entries[handle] = found
        shared.channel.append(.taking(handle: handle, namespace: namespace, taker: hostID, recorder: found.recorder))
        shared.waiting.append { completion(.taking(record: found.record, recorder: found.recorder)) }
    }

    func finishTake(handle: RecoveryHandle, completion: @escaping (StoreTakeAnswer) -> Void) {
        guard shared.reachable else { return }
        guard let found = shared.entries[handle], found.taker == hostID else {
            shared.waiting.append { completion(.notFound) }
            return
        }
        shared.entries[handle] = nil
        let answer = whole(found)
        shared.waiting.append { completion(answer) }
    }

    func cancelTake(handle: RecoveryHandle) {
        if shared.entries[handle]?.taker == hostID { shared.entries[handle] = nil }
    }

    func flushed(handle: RecoveryHandle, namespace: String, taker: String) {
        shared.channel.append(.flushed(handle: handle, namespace: namespace, host: hostID, taker: taker))
    }

    func handOver(_ sessions: [HandedOverSession], namespace: String) {
        for session in sessions where shared.entries[session.handle]?.recorder == hostID && shared.entries[session.handle]?.taker == nil {
            shared.entries[session.handle]?.recorder = StoreTake.handoverMarker(hostID)
        }
        published.append(.handover(host: hostID, namespace: namespace, sessions: sessions))
    }

    func adopt(_ sessions: [HandedOverSession], from host: String) {
        for session in sessions
        where shared.entries[session.handle]?.recorder == StoreTake.handoverMarker(host) && shared.entries[session.handle]?.taker == nil {
            shared.entries[session.handle]?.recorder = StoreTake.adoptedMarker(hostID, from: host)
        }
    }

    func announceRecovered(handle: RecoveryHandle, namespace: String) { published.append(.recovered(handle: handle, namespace: namespace)) }
}

/// One quench node in memory: engine, Socket.IO server with recovery on and the node's store.
private final class Node {
    let clock = ManualClock()
    let engine: EngineServer
    let server: SocketIOServer
    let store: NodeStore
    var connects: [(sid: String, recovered: Bool, data: String?)] = []

    deinit { engine.closeAll() }

    init(_ host: String, _ shared: SharedStore, awayBytes: Int = 1 << 20) {
        engine = EngineServer(configuration: EngineConfiguration(), clock: clock, log: Logger(level: .error, sink: { _ in }))
        clock.engine = engine
        server = SocketIOServer(
            engine: engine, configuration: SocketIOConfiguration(recoveryWindow: 10_000, recoveryAwayBytes: awayBytes))
        store = NodeStore(host, shared)
        server.recoveryStore = store
        let namespace = server.namespace("/")
        namespace.encodeData = { ($0 as? Box).map { .string($0.text) } }
        namespace.decodeData = { $0.stringValue.map(Box.init) }
        namespace.onConnect = { [weak self] socket in
            self?.connects.append((socket.id, socket.recovered, (socket.data as? Box)?.text))
            if !socket.recovered {
                socket.data = Box("row of \(socket.id)")
                socket.emit("welcome")
            }
        }
        namespace.on("join") { socket, arguments, _ in socket.join(arguments.first?.stringValue ?? "") }
    }

    var namespace: Namespace { server.namespace("/") }

    func connect(auth: String = "", peer: String = "test") -> (InMemoryWebSocket, [SocketIOPacket]) {
        let client = engine.connectInMemory(peer: peer)
        _ = client.takeFrames()
        client.clientSends("40" + auth)
        return (client, Self.packets(client))
    }

    static func packets(_ client: InMemoryWebSocket) -> [SocketIOPacket] {
        client.takeFrames().compactMap { try? SocketIOPacket.decode(Array($0.utf8.dropFirst())) }
    }
}

private final class Box {
    let text: String
    init(_ text: String) { self.text = text }
}

private func auth(_ pid: String?, _ offset: String?) -> String { "{\"pid\":\"\(pid ?? "")\",\"offset\":\"\(offset ?? "")\"}" }
private func connectData(_ packets: [SocketIOPacket]) -> (sid: String?, pid: String?) {
    let data = packets.first { $0.type == .connect }?.data
    return (data?["sid"]?.stringValue, data?["pid"]?.stringValue)
}
private func names(_ packets: [SocketIOPacket]) -> [String] { packets.compactMap(\.eventName) }

@Suite struct RecoveryAcrossNodesTests {
    /// Connects to `node`, joins `room`, sees one event, drops: (sid, pid, the offset last seen).
    private func dropped(on node: Node, room: String = "lobby") throws -> (sid: String, pid: String, offset: String) {
        let (client, packets) = node.connect()
        let (sid, pid) = connectData(packets)
        client.clientSends("42[\"join\",\"\(room)\"]")
        node.namespace.emit("seen")
        let seen = try #require(Node.packets(client).last)
        client.clientDisconnects()
        return (try #require(sid), try #require(pid), try #require(seen.arguments.last?.stringValue))
    }

    @Test func aSessionDroppedOnOneNodeIsRestoredOnAnotherWithWhatItMissedInOrder() throws {
        let shared = SharedStore()
        let a = Node("A", shared)
        let b = Node("B", shared)
        let (sid, pid, offset) = try dropped(on: a)
        // Sent by A after the client's last offset but before A noticed the drop: in the record itself.
        #expect(shared[pid] != nil)
        // The record names the session by its handle: the pid is nowhere in what the store holds.
        #expect(!String(decoding: try #require(shared[pid]).record, as: UTF8.self).contains(pid))
        // What reaches it while away, as a queue emit reaches every node: only A (the owner) records it.
        for node in [a, b] {
            node.server.apply(.emit(ClusterEmit(event: "to-sid", rooms: [sid])))
            node.server.apply(.emit(ClusterEmit(event: "to-other", rooms: ["elsewhere"])))
            node.server.apply(.emit(ClusterEmit(event: "to-lobby", rooms: ["lobby"])))
            node.server.apply(.emit(ClusterEmit(event: "skipped", skip: [sid])))
        }
        a.namespace.emitLocally("a-local")
        #expect(shared[pid]?.owner.count == 3)
        #expect(a.namespace.recoveryCounts?.kept == 1 && b.namespace.recoveryCounts?.kept == 0)

        let (client, first) = b.connect(auth: auth(pid, offset))
        #expect(first.isEmpty)  // asynchronous: nothing until the store answers
        b.namespace.emitLocally("newer-before-answer")  // before the take's marker: not B's to deliver
        shared.answer()
        #expect(Node.packets(client).isEmpty)  // A records for it: B waits for A's flush
        shared.settle([a, b])
        let packets = Node.packets(client)
        #expect(connectData(packets).sid == sid && connectData(packets).pid == pid)
        #expect(names(packets) == ["to-sid", "to-lobby", "a-local"])
        #expect(b.connects.last?.recovered == true && b.connects.last?.data == "row of \(sid)")
        #expect(b.namespace.members(of: "lobby") == [sid])
        #expect(b.store.published == [.recovered(handle: RecoveryHandle(pid: pid), namespace: "/")])
        // Offsets are B's log's now: increasing, and a later drop on B is recoverable from the last one.
        let offsets = packets.compactMap { $0.eventName == nil ? nil : UInt64($0.arguments.last?.stringValue ?? "") }
        #expect(offsets.count == 3 && offsets == offsets.sorted())
        // A stops recording when told.
        a.server.apply(.recovered(handle: RecoveryHandle(pid: pid), namespace: "/"))
        #expect(a.namespace.recovery?.away.isEmpty == true)
        #expect(a.namespace.recoveryCounts?.kept == 0 && b.namespace.recoveryCounts?.restoredFromStore == 1)
        // Once: the same pid again is a new session.
        let (_, again) = a.connect(auth: auth(pid, offset))
        shared.settle([a, b])
        _ = again
        #expect(a.connects.last?.recovered == false)
    }

    /// The pid stays the same on the wire across recoveries (socket.io-client's `recovered` is "the CONNECT
    /// reply's pid equals the one I sent"), and each drop's record is taken once: replaying the CONNECT that
    /// recovered the session, while it is live or after, gets a new session and leaves the live one alone.
    @Test func thePidStaysTheSameAndEachDropIsTakenOnce() throws {
        let shared = SharedStore()
        let a = Node("A", shared)
        let b = Node("B", shared)
        let (sid, pid, offset) = try dropped(on: a)
        let (client, _) = b.connect(auth: auth(pid, offset))
        shared.settle([a, b])
        let reply = Node.packets(client)
        #expect(connectData(reply).sid == sid && connectData(reply).pid == pid && b.connects.last?.recovered == true)
        // The recovering CONNECT replayed (say, from a captured trace) while the session is live on B.
        let (replay, replayed) = a.connect(auth: auth(pid, offset))
        shared.settle([a, b])
        #expect(connectData(replayed + Node.packets(replay)).sid != sid && a.connects.last?.recovered == false)
        #expect(b.namespace.sockets[sid] != nil)
        // The client drops again and comes back with what it saw last: the same pid, taken once more.
        b.namespace.emit("while-live")
        let last = try #require(Node.packets(client).last?.arguments.last?.stringValue)
        client.clientDisconnects()
        let (again, _) = a.connect(auth: auth(pid, last))
        shared.settle([a, b])
        #expect(connectData(Node.packets(again)).pid == pid && a.connects.last?.recovered == true)
        #expect(shared[pid] == nil)
    }

    @Test func anEmitTheRecorderHasNotAppendedWhenAnotherNodeTakesIsDeliveredOnceInOrder() throws {
        let shared = SharedStore()
        let a = Node("A", shared)
        let b = Node("B", shared)
        let (sid, pid, offset) = try dropped(on: a)
        let (client, _) = b.connect(auth: auth(pid, offset))
        // The take's first phase ran in the store: marked as taken by B, the marker published, nothing deleted.
        #expect(shared[pid]?.taker == "B")
        guard case .taking(let taken, "/", "B", "A")? = shared.channel.last else {
            Issue.record("no taking marker published")
            return
        }
        #expect(taken == RecoveryHandle(pid: pid))
        let marker = shared.channel.removeLast()
        // The channel's order: an emit published before the marker, the marker, emits after it. Each node
        // reads them in that order, whenever it gets to them.
        let before = ClusterOperation.emit(ClusterEmit(event: "before-marker", rooms: [sid]))
        for node in [a, b] { node.server.apply(before) }
        #expect(shared[pid]?.owner.count == 1)  // A's append still succeeds while it is being taken
        for node in [a, b] { node.server.apply(marker) }
        #expect(a.namespace.recovery?.away.isEmpty == true)  // A stopped recording at the marker
        for node in [a, b] {
            node.server.apply(.emit(ClusterEmit(event: "after-marker", rooms: ["lobby"])))
            node.server.apply(.emit(ClusterEmit(event: "not-for-it", rooms: ["elsewhere"])))
        }
        #expect(shared[pid]?.owner.count == 1)  // A appended nothing after the marker
        shared.answer()  // B learns the rooms after collecting: what did not reach it is dropped then
        #expect(Node.packets(client).isEmpty)  // waits for A's flush
        guard case .flushed(RecoveryHandle(pid: pid), "/", "A", "B")? = shared.channel.last else {
            Issue.record("A did not flush")
            return
        }
        shared.settle([a, b])
        let packets = Node.packets(client)
        #expect(connectData(packets).sid == sid && b.connects.last?.recovered == true)
        #expect(names(packets) == ["before-marker", "after-marker"])
        #expect(shared[pid] == nil)
    }

    @Test func aSecondTakerWhileASessionIsBeingTakenGetsANewSession() throws {
        let shared = SharedStore()
        let a = Node("A", shared)
        let b = Node("B", shared)
        let c = Node("C", shared)
        let (sid, pid, offset) = try dropped(on: a)
        let (first, _) = b.connect(auth: auth(pid, offset))
        let (second, _) = c.connect(auth: auth(pid, offset))
        shared.settle([a, b, c])
        #expect(connectData(Node.packets(first)).sid == sid && b.connects.last?.recovered == true)
        #expect(connectData(Node.packets(second)).sid != sid && c.connects.last?.recovered == false)
        #expect(c.namespace.recoveryCounts?.refused == [.unknownSession: 1])
    }

    @Test func aRecorderThatDoesNotFlushInTimeGivesANewSessionAndTheHalfTakenSessionIsGone() throws {
        let shared = SharedStore()
        let a = Node("A", shared)
        let b = Node("B", shared)
        let (sid, pid, offset) = try dropped(on: a)
        let (client, _) = b.connect(auth: auth(pid, offset))
        shared.answer()
        let marker = shared.channel.removeLast()  // A is frozen: it reads nothing
        b.server.apply(marker)
        b.clock.advance(by: SocketIOServer.restoreTimeout)
        let packets = Node.packets(client)
        #expect(connectData(packets).sid != sid && names(packets) == ["welcome"])
        #expect(b.namespace.recoveryCounts?.refused == [.recorderGone: 1])
        #expect(shared[pid] == nil)  // cancelled: nobody takes it with a hole later
        // A wakes up: its append finds nothing, and it stops recording at the marker; its late flush is ignored.
        a.server.apply(.emit(ClusterEmit(event: "late", rooms: [sid])))
        a.server.apply(marker)
        #expect(shared[pid] == nil && a.namespace.recovery?.away.isEmpty == true)
        shared.settle([a, b])
        #expect(b.connects.count == 1 && b.namespace.sockets.count == 1)
    }

    @Test func aTakeWhoseAnswerNeverCameIsGivenUpEvenWhenTheClientLeft() throws {
        let shared = SharedStore()
        let a = Node("A", shared)
        let b = Node("B", shared)
        let (_, pid, offset) = try dropped(on: a)
        let (client, _) = b.connect(auth: auth(pid, offset))
        #expect(shared[pid]?.taker == "B")  // the first phase ran; its answer is not back yet
        client.clientDisconnects()
        b.clock.advance(by: SocketIOServer.restoreTimeout)
        #expect(shared[pid] == nil)  // given up, not left half-taken until the window passes
        shared.settle([a, b])
        #expect(b.connects.isEmpty && b.namespace.sockets.isEmpty)
    }

    @Test func aTakerThatMayHaveMissedEmitsAfterItsMarkerRefuses() throws {
        let shared = SharedStore()
        let a = Node("A", shared)
        let b = Node("B", shared)
        // The flush arrives but B never saw its marker (its service inbox dropped it, say).
        let first = try dropped(on: a)
        let (one, _) = b.connect(auth: auth(first.pid, first.offset))
        shared.answer()
        let marker = shared.channel.removeLast()
        a.server.apply(marker)
        shared.settle([a, b])
        #expect(connectData(Node.packets(one)).sid != first.sid)
        // B saw its marker, then its subscription was lost and came back before the flush.
        let second = try dropped(on: a)
        let (two, _) = b.connect(auth: auth(second.pid, second.offset))
        shared.answer()
        let again = shared.channel.removeLast()
        for node in [a, b] { node.server.apply(again) }
        b.server.channelInterrupted()
        shared.settle([a, b])
        #expect(connectData(Node.packets(two)).sid != second.sid)
        #expect(b.namespace.recoveryCounts?.refused == [.storeUnavailable: 2])
        #expect(b.connects.allSatisfy { !$0.recovered })
    }

    @Test func aRecorderWhoseSubscriptionWasInterruptedMakesItsSessionsUnrecoverable() throws {
        let shared = SharedStore()
        let a = Node("A", shared)
        let b = Node("B", shared)
        let (sid, pid, offset) = try dropped(on: a)
        a.server.channelInterrupted()  // emits published meanwhile never reached A
        #expect(shared[pid] == nil && a.namespace.recovery?.away.isEmpty == true)
        a.server.apply(.emit(ClusterEmit(event: "after", rooms: [sid])))
        #expect(shared[pid] == nil)
        let (client, _) = b.connect(auth: auth(pid, offset))
        shared.settle([a, b])
        #expect(connectData(Node.packets(client)).sid != sid && b.namespace.recoveryCounts?.refused == [.unknownSession: 1])
    }

    @Test func emitsCollectedBeforeTheRoomsAreKnownAreBounded() throws {
        let shared = SharedStore()
        let a = Node("A", shared)
        let b = Node("B", shared)
        let (sid, pid, offset) = try dropped(on: a)
        let (client, _) = b.connect(auth: auth(pid, offset))
        let marker = shared.channel.removeLast()
        b.server.apply(marker)  // the marker before the first phase's answer: B keeps every emit of "/"
        let filler = String(repeating: "x", count: 64 * 1024)
        for index in 0..<17 { b.server.apply(.emit(ClusterEmit(event: "busy \(index)", arguments: [.string(filler)], rooms: ["elsewhere"]))) }
        a.server.apply(marker)
        shared.settle([a, b])
        #expect(connectData(Node.packets(client)).sid != sid)
        #expect(b.namespace.recoveryCounts?.refused == [.tooMuchMissed: 1])
    }

    @Test func theOwnerBuffersWhatReachesItsSessionDuringItsOwnTake() throws {
        let shared = SharedStore()
        let a = Node("A", shared)
        let (sid, pid, offset) = try dropped(on: a)
        a.server.apply(.emit(ClusterEmit(event: "before-take", rooms: [sid])))
        let (client, _) = a.connect(auth: auth(pid, offset))
        a.server.apply(.emit(ClusterEmit(event: "during-take", rooms: ["lobby"])))
        shared.answer()
        #expect(names(Node.packets(client)) == ["before-take", "during-take"])
    }

    @Test func aStoppedNodesSessionsAreAdoptedAndRecordedByOneSurvivor() throws {
        let shared = SharedStore()
        let a = Node("A", shared)
        let b = Node("B", shared)
        let c = Node("C", shared)
        let (sid, pid, offset) = try dropped(on: a)
        a.server.closeAllAndHandOver()
        #expect(a.server.isHandingOver)
        guard case .handover(let host, let name, let sessions)? = a.store.published.last else {
            Issue.record("no handover published")
            return
        }
        #expect(host == "A" && sessions.map(\.handle) == [RecoveryHandle(pid: pid)])
        // Before the handover comes back to A, A still records (emits published before it are A's).
        a.server.apply(.emit(ClusterEmit(event: "before-handover", rooms: [sid])))
        for node in [b, c] { node.server.apply(.handover(host: host, namespace: name, sessions: sessions)) }
        // Published before the handover too, but A gets to it after B adopted: still A's to record.
        a.server.apply(.emit(ClusterEmit(event: "late-before-handover", rooms: ["lobby"])))
        a.server.handoverEchoed(namespace: "/")
        #expect(!a.server.isHandingOver && a.namespace.recovery?.away.isEmpty == true)
        for node in [a, b, c] { node.server.apply(.emit(ClusterEmit(event: "after-handover", rooms: ["lobby"]))) }
        #expect(shared[pid]?.recorder == "B@A")
        #expect(shared[pid]?.adopted.count == 1)  // B's; C's append was refused by the claim

        let (client, _) = c.connect(auth: auth(pid, offset))
        shared.settle([a, b, c])  // B, the adopter, records for it: it flushes
        #expect(names(Node.packets(client)) == ["before-handover", "late-before-handover", "after-handover"])
        #expect(c.connects.last?.recovered == true)
    }

    @Test func anAdopterThatStopsDoesNotHandOnWhatItAdopted() throws {
        let shared = SharedStore()
        let a = Node("A", shared)
        let b = Node("B", shared)
        let (_, pid, _) = try dropped(on: a)
        a.server.closeAllAndHandOver()
        guard case .handover(let host, let name, let sessions)? = a.store.published.last else {
            Issue.record("no handover published")
            return
        }
        b.server.apply(.handover(host: host, namespace: name, sessions: sessions))
        b.server.closeAllAndHandOver()
        #expect(shared[pid] == nil)  // made unrecoverable rather than recorded out of order
        #expect(!b.store.published.contains { if case .handover = $0 { true } else { false } })
    }

    @Test func aNodeThatIsStoppingAdoptsNothing() throws {
        let shared = SharedStore()
        let a = Node("A", shared)
        let b = Node("B", shared)
        let (_, pid, _) = try dropped(on: a)
        b.server.closeAllAndHandOver()  // B stops first (nothing of its own to hand over)
        a.server.closeAllAndHandOver()
        guard case .handover(let host, let name, let sessions)? = a.store.published.last else {
            Issue.record("no handover published")
            return
        }
        b.server.apply(.handover(host: host, namespace: name, sessions: sessions))
        #expect(b.namespace.recovery?.away.isEmpty == true)
        #expect(shared[pid]?.recorder == StoreTake.handoverMarker("A"))  // nobody adopted: refused at restore
    }

    @Test func anOwnerThatMissedTheRecoveredMessageCannotAppendToTheNewRecord() throws {
        let shared = SharedStore()
        let a = Node("A", shared)
        let b = Node("B", shared)
        let (sid, pid, offset) = try dropped(on: a)
        let (client, _) = b.connect(auth: auth(pid, offset))
        shared.answer()
        // A flushed, but (say) its service inbox dropped the marker first: it still has the session as away.
        b.server.apply(shared.channel.removeLast())
        b.server.apply(.flushed(handle: RecoveryHandle(pid: pid), namespace: "/", host: "A", taker: "B"))
        shared.answer()
        #expect(a.namespace.recovery?.away.isEmpty == false && b.connects.last?.recovered == true)
        client.clientDisconnects()  // dropped again, now kept by B
        #expect(shared[pid]?.recorder == "B")
        // A never heard that B restored it and still has it as away: its appends are refused.
        a.server.apply(.emit(ClusterEmit(event: "stale", rooms: [sid])))
        b.server.apply(.emit(ClusterEmit(event: "fresh", rooms: [sid])))
        #expect(shared[pid]?.owner.count == 1)
    }

    @Test func refusalsGiveANewSession() throws {
        let shared = SharedStore()
        let a = Node("A", shared)
        let b = Node("B", shared)
        // Handed over but nobody adopted it: what it missed since is unknown.
        let (_, pid, offset) = try dropped(on: a)
        a.server.closeAllAndHandOver()
        _ = b.connect(auth: auth(pid, offset))
        shared.answer()
        #expect(b.connects.last?.recovered == false)

        // Its node was killed (its liveness key expired) before handing it over.
        let killed = try dropped(on: a)
        shared.gone.insert("A")
        _ = b.connect(auth: auth(killed.pid, killed.offset))
        shared.answer()
        #expect(b.connects.last?.recovered == false)

        // An offset the record does not cover, and one from no log at all.
        let c = Node("C", shared)
        let first = try dropped(on: c)
        _ = b.connect(auth: auth(first.pid, "1"))
        shared.settle([b, c])
        #expect(b.connects.last?.recovered == false)
        #expect(shared[first.pid] == nil)  // taken all the same: a refused attempt uses it up
        // Each refusal counted by its kind, for /metrics.
        #expect(b.namespace.recoveryCounts?.refused == [.recorderGone: 2, .offset: 1])
        #expect(b.namespace.recoveryCounts?.restoredFromStore == 0)
    }

    @Test func aSessionThatMissedMoreThanItsBoundIsForgotten() throws {
        let shared = SharedStore()
        let a = Node("A", shared, awayBytes: 2048)
        let (sid, pid, _) = try dropped(on: a)
        for index in 0..<40 { a.server.apply(.emit(ClusterEmit(event: "filler \(index)", arguments: [.string(String(repeating: "x", count: 100))], rooms: [sid]))) }
        #expect(shared[pid] == nil)
        #expect(a.namespace.recovery?.away.isEmpty == true)
    }

    /// No count limits but the bytes: a session that missed as many of the smallest events as its byte bound
    /// holds (7 bytes each stored, `[["x"]]`; the last one longer so that the bound is reached exactly) is
    /// restored on another node with every one, once, in order. The store hands the lists back framed, as
    /// Redis' take scripts do (a reply of one element per event was refused past 1,024 of them).
    @Test func asManySmallestEventsAsTheByteBoundHoldsAreRestoredWhole() throws {
        let bound = SocketIOConfiguration.defaultRecoveryAwayBytes
        let shared = SharedStore()
        let a = Node("A", shared, awayBytes: bound)
        let b = Node("B", shared, awayBytes: bound)
        let (sid, pid, offset) = try dropped(on: a)
        // The record already counts the recent events that reached the session; the rest of the bound is for
        // what it misses while away.
        let used = try #require(a.namespace.recovery?.away.entry(RecoveryHandle(pid: pid))?.bytes)
        let remaining = bound - used
        let (whole, rest) = remaining.quotientAndRemainder(dividingBy: 7)
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789").map(String.init)
        var sent = (0..<(whole - 1)).map { letters[$0 % letters.count] }
        sent.append(String(repeating: "z", count: 1 + rest))  // 7 + rest bytes: the bound exactly
        #expect(sent.count > 30_000)
        for event in sent { a.server.apply(.emit(ClusterEmit(event: event, rooms: [sid]))) }
        #expect(a.namespace.recovery?.away.entry(RecoveryHandle(pid: pid))?.bytes == bound)  // reached, not passed: still kept
        #expect(shared[pid]?.owner.count == sent.count)

        let (client, _) = b.connect(auth: auth(pid, offset))
        shared.settle([a, b])
        let packets = Node.packets(client)
        #expect(connectData(packets).sid == sid && b.connects.last?.recovered == true)
        #expect(names(packets) == sent)
        #expect(b.namespace.recoveryCounts?.restoredFromStore == 1 && shared[pid] == nil)
    }

    /// One byte past the bound and the session is made unrecoverable (a new session, never one with a hole).
    @Test func oneEventPastTheByteBoundMakesTheSessionUnrecoverable() throws {
        let bound = 4096
        let shared = SharedStore()
        let a = Node("A", shared, awayBytes: bound)
        let (sid, pid, _) = try dropped(on: a)
        let remaining = bound - (try #require(a.namespace.recovery?.away.entry(RecoveryHandle(pid: pid))?.bytes))
        let last = 7 + (remaining + 1) % 7  // bytes of the event that passes the bound by one
        for _ in 0..<((remaining + 1 - last) / 7) { a.server.apply(.emit(ClusterEmit(event: "x", rooms: [sid]))) }
        #expect(shared[pid] != nil && a.namespace.recovery?.away.entry(RecoveryHandle(pid: pid))?.bytes == bound + 1 - last)
        a.server.apply(.emit(ClusterEmit(event: String(repeating: "y", count: last - 6), rooms: [sid])))
        #expect(shared[pid] == nil && a.namespace.recovery?.away.isEmpty == true)
    }

    /// A flood of CONNECTs with random well-formed pids from one address costs the store at most the take
    /// budget (``TakeBudget``): past it, a new session at once without asking the store; other addresses, and
    /// takes that find their session, are not held back.
    @Test func takesThatFindNothingAreBudgetedPerAddress() throws {
        let shared = SharedStore()
        let a = Node("A", shared)
        let (sid, pid, offset) = try dropped(on: a)
        var clients: [InMemoryWebSocket] = []
        for _ in 0..<(TakeBudget.burst + 50) {
            clients.append(a.connect(auth: auth(SessionID.make(), "1"), peer: "10.0.0.66").0)
            shared.answer()
        }
        #expect(a.store.takes == TakeBudget.burst)
        #expect(a.namespace.recoveryCounts?.refused == [.unknownSession: TakeBudget.burst, .throttled: 50])
        #expect(a.connects.count == 1 + TakeBudget.burst + 50 && a.connects.allSatisfy { !$0.recovered })  // every one served at once
        // Another address is not held back, and a take that finds its session gives its token back.
        _ = a.connect(auth: auth(SessionID.make(), "1"), peer: "10.0.0.7")
        shared.answer()
        #expect(a.store.takes == TakeBudget.burst + 1)
        // The flooding address gets 20 takes back a second.
        a.clock.advance(by: 1000)
        for _ in 0..<(TakeBudget.perSecond + 5) {
            clients.append(a.connect(auth: auth(SessionID.make(), "1"), peer: "10.0.0.66").0)
            shared.answer()
        }
        #expect(a.store.takes == TakeBudget.burst + 1 + TakeBudget.perSecond)
        a.clock.advance(by: 50)  // one take back
        let (back, _) = a.connect(auth: auth(pid, offset), peer: "10.0.0.66")
        shared.answer()
        #expect(connectData(Node.packets(back)).sid == sid && a.connects.last?.recovered == true)
        _ = a.connect(auth: auth(SessionID.make(), "1"), peer: "10.0.0.66")  // the found take's token came back
        shared.answer()
        #expect(a.store.takes == TakeBudget.burst + 1 + TakeBudget.perSecond + 2)
        for client in clients { client.clientDisconnects() }
    }

    @Test func aStoreThatNeverAnswersGivesANewSessionAfterTheDeadline() throws {
        let shared = SharedStore()
        let a = Node("A", shared)
        let (_, pid, offset) = try dropped(on: a)
        shared.reachable = false
        let (client, first) = a.connect(auth: auth(pid, offset))
        #expect(first.isEmpty)
        client.clientSends("42[\"join\",\"meanwhile\"]")  // not joined yet: dropped, as Node's server does
        a.clock.advance(by: SocketIOServer.restoreTimeout)
        let packets = Node.packets(client)
        #expect(connectData(packets).pid != pid && names(packets) == ["welcome"])
        #expect(a.connects.last?.recovered == false)
        #expect(shared[pid] == nil)  // this node was recording for it: made unrecoverable
        #expect(a.namespace.recoveryCounts?.refused == [.storeUnavailable: 1])
    }

    @Test func aClientThatLeavesDuringTheTakeLeavesNoSocketBehind() throws {
        let shared = SharedStore()
        let a = Node("A", shared)
        let (_, pid, offset) = try dropped(on: a)
        let (client, _) = a.connect(auth: auth(pid, offset))
        client.clientDisconnects()
        shared.answer()
        #expect(a.namespace.sockets.isEmpty)
        #expect(a.connects.count == 1)  // only the first connect
    }
}

@Suite struct StoredRecordTests {
    /// The first 32 hex digits of SHA-256("quench-recovery:" + pid), as Python's hashlib computes it; only
    /// that shape is read back from the store or the channel.
    @Test func aHandleIsTheHashOfThePidAndOnlyHexIsReadBack() {
        #expect(RecoveryHandle(pid: "Ab3dE5gH7jK9mN1pQ3sT").text == "f97ef0d3ef1b51f1529b9358282902a6")
        #expect(RecoveryHandle(pid: "a") != RecoveryHandle(pid: "b"))
        #expect(RecoveryHandle(text: "f97ef0d3ef1b51f1529b9358282902a6") == RecoveryHandle(pid: "Ab3dE5gH7jK9mN1pQ3sT"))
        for bad in ["", "Ab3dE5gH7jK9mN1pQ3sT", "F97EF0D3EF1B51F1529B9358282902A6", "f97ef0d3ef1b51f1529b9358282902a", "f97ef0d3ef1b51f1529b9358282902a6f", "g97ef0d3ef1b51f1529b9358282902a6"] {
            #expect(RecoveryHandle(text: bad) == nil)
        }
    }

    @Test func aRecordRoundTripsAndMalformedOnesAreRefused() throws {
        let handle = RecoveryHandle(pid: "Ab3dE5gH7jK9mN1pQ3sT")
        let session = StoredSession(
            namespace: "/", handle: handle, sid: "s", rooms: ["a", "b"], data: ["k": 1], owner: "h", floor: 5, next: 9,
            packets: [(6, StoredPacket.value(event: "e", arguments: [.binary([1, 2]), "x"]))])
        let written = session.encode()
        #expect(try StoredSession.decode(written) == session)
        // The record names the session by its handle; the pid is nowhere in it.
        let text = String(decoding: written, as: UTF8.self)
        #expect(text.contains("\"handle\":\"\(handle.text)\"") && !text.contains("Ab3dE5gH7jK9mN1pQ3sT") && !text.contains("\"pid\""))
        let h = handle.text
        for bad in [
            "", "[]", "{}", "{\"v\":2}",
            // A version 1 record (it held the pid) is refused as unreadable: such records expire with the window.
            "{\"v\":1,\"ns\":\"/\",\"pid\":\"p\",\"sid\":\"s\",\"rooms\":[],\"owner\":\"h\",\"floor\":\"1\",\"next\":\"2\",\"packets\":[]}",
            "{\"v\":2,\"ns\":\"/\",\"pid\":\"p\",\"sid\":\"s\",\"rooms\":[],\"owner\":\"h\",\"floor\":\"1\",\"next\":\"2\",\"packets\":[]}",
            "{\"v\":2,\"ns\":\"/\",\"handle\":\"\(h)\",\"sid\":\"s\",\"rooms\":[1],\"owner\":\"h\",\"floor\":\"1\",\"next\":\"2\",\"packets\":[]}",
            "{\"v\":2,\"ns\":\"/\",\"handle\":\"\(h)\",\"sid\":\"s\",\"rooms\":[],\"owner\":\"h\",\"floor\":\"3\",\"next\":\"2\",\"packets\":[]}",
            "{\"v\":2,\"ns\":\"/\",\"handle\":\"\(h)\",\"sid\":\"s\",\"rooms\":[],\"owner\":\"h\",\"floor\":\"-1\",\"next\":\"2\",\"packets\":[]}",
            "{\"v\":2,\"ns\":\"/\",\"handle\":\"\(h)\",\"sid\":\"s\",\"rooms\":[],\"owner\":\"h\",\"floor\":\"1\",\"next\":\"2\",\"packets\":[[1,2]]}",
            "{\"v\":2,\"ns\":\"/\",\"handle\":\"\(h)\",\"sid\":\"s\\n\",\"rooms\":[],\"owner\":\"h\",\"floor\":\"1\",\"next\":\"2\",\"packets\":[]}",
            "{\"v\":2,\"ns\":\"/\",\"handle\":\"\",\"sid\":\"s\",\"rooms\":[],\"owner\":\"h\",\"floor\":\"1\",\"next\":\"2\",\"packets\":[]}",
            "{\"v\":2,\"ns\":\"/\",\"handle\":\"\(h.uppercased())\",\"sid\":\"s\",\"rooms\":[],\"owner\":\"h\",\"floor\":\"1\",\"next\":\"2\",\"packets\":[]}",
            "{\"v\":2,\"ns\":\"/\",\"handle\":\"\(h)0\",\"sid\":\"s\",\"rooms\":[],\"owner\":\"h\",\"floor\":\"1\",\"next\":\"2\",\"packets\":[]}",
        ] {
            #expect(throws: StoredRecordError.self) { try StoredSession.decode(Array(bad.utf8)) }
        }
    }

    @Test func aPacketRoundTripsWithItsAttachmentsAndMalformedOnesAreRefused() throws {
        let bytes = StoredPacket.encode(event: "bot", arguments: [["text": "hi"], .binary([0, 1, 2])])
        #expect(String(decoding: bytes, as: UTF8.self) == "[[\"bot\",{\"text\":\"hi\"},{\"_placeholder\":true,\"num\":0}],\"AAEC\"]")
        let decoded = try StoredPacket.decode(bytes)
        #expect(decoded.event == "bot" && decoded.arguments == [["text": "hi"], .binary([0, 1, 2])])
        for bad in ["", "{}", "[]", "[[1]]", "[[\"e\"],\"!!\"]", "[[\"e\",{\"_placeholder\":true,\"num\":0}]]", "[[\"e\"],\"AAEC\"]"] {
            #expect(throws: StoredRecordError.self) { try StoredPacket.decode(Array(bad.utf8)) }
        }
    }

    @Test func theLogsRecentPacketsForADroppedSessionAndWhereTheyStart() {
        var log = MissedPacketLog(byteLimit: 1 << 20, firstSequence: 100)
        for (index, rooms) in [["s"], ["other"], nil, ["room"], ["other"]].enumerated() {
            log.append(EncodedPacket(event: "e\(index)", [], namespace: "/", offset: log.nextOffset), target: .init(rooms: rooms, skip: []))
        }
        let all = log.recent(reaching: ["s", "room"], scanLimit: 100, byteLimit: 1 << 20)
        #expect(all.floor == 100 && all.packets.map(\.sequence) == [100, 102, 103])
        let scanned = log.recent(reaching: ["s", "room"], scanLimit: 3, byteLimit: 1 << 20)
        #expect(scanned.floor == 102 && scanned.packets.map(\.sequence) == [102, 103])
        let bounded = log.recent(reaching: ["s", "room"], scanLimit: 100, byteLimit: MissedPacketLog.entryOverhead + 20)
        #expect(bounded.floor == 103 && bounded.packets.map(\.sequence) == [103])
    }

    @Test func awaySessionsAreFoundByRoomAndBounded() {
        var away = AwaySessions(limit: 2, byteLimit: 100)
        let (p1, p2, p3) = (RecoveryHandle(pid: "p1"), RecoveryHandle(pid: "p2"), RecoveryHandle(pid: "p3"))
        let added = [
            away.add(.init(handle: p1, sid: "s1", rooms: ["lobby"], adoptedFrom: nil, expiresAt: 10)),
            away.add(.init(handle: p2, sid: "s2", rooms: [], adoptedFrom: "X", expiresAt: 20)),
            away.add(.init(handle: p3, sid: "s3", rooms: [], adoptedFrom: nil, expiresAt: 30)),
        ]
        #expect(added == [true, true, false])
        #expect(away.reached(rooms: ["s1"], skip: []) == [p1])
        #expect(away.reached(rooms: ["lobby", "s1"], skip: []) == [p1])
        #expect(Set(away.reached(rooms: nil, skip: [])) == [p1, p2])
        #expect(away.reached(rooms: nil, skip: ["s1"]) == [p2])
        #expect(away.reached(rooms: ["nobody"], skip: []).isEmpty)
        let within = away.account(60, for: p1)
        let past = away.account(60, for: p1)
        #expect(within && !past)
        away.removeExpired(now: 15)
        #expect(away.count == 1 && away.reached(rooms: ["lobby"], skip: []).isEmpty)
        away.remove(p2)
        #expect(away.isEmpty && away.all.isEmpty)
    }

    @Test func oneAddressCannotFillTheRecordedSessionsOthersNeed() {
        var away = AwaySessions(limit: 10, byteLimit: 100, perAddressLimit: 2)
        func entry(_ pid: String, _ address: String?) -> AwaySessions.Entry {
            .init(handle: RecoveryHandle(pid: pid), sid: "s-" + pid, rooms: [], adoptedFrom: address == nil ? "X" : nil, expiresAt: 100, address: address)
        }
        #expect(away.keep(entry("a1", "10.0.0.2")) == nil)
        #expect(away.keep(entry("a2", "10.0.0.2")) == nil)
        #expect(away.keep(entry("a3", "10.0.0.2")) == .address)  // the churner's third is not kept
        #expect(away.keep(entry("b1", "10.0.0.1")) == nil)  // another address still is
        #expect(away.keep(entry("h1", nil)) == nil)  // handed over: no address, not bounded by one
        #expect(away.refusedPerAddress == 1)
        away.remove(RecoveryHandle(pid: "a1"))
        #expect(away.keep(entry("a4", "10.0.0.2")) == nil)  // room again once one of its own went
        #expect(away.count == 4)
    }
}
