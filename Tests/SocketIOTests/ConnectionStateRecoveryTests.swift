import EngineIO
import EngineIOTesting
import Testing

@testable import SocketIO

/// A server with connection state recovery on (window 1 s unless told), over in-memory WebSockets.
private final class RecoveryHarness {
    let clock = ManualClock()
    let engine: EngineServer
    let server: SocketIOServer
    var connects: [(sid: String, recovered: Bool)] = []
    var disconnects: [SocketDisconnectReason] = []

    deinit { engine.closeAll() }

    init(window: Int64 = 1000, logBytes: Int = 1 << 20) {
        engine = EngineServer(
            configuration: EngineConfiguration(pingInterval: 300, pingTimeout: 200), clock: clock, log: Logger(level: .error, sink: { _ in }))
        clock.engine = engine
        server = SocketIOServer(engine: engine, configuration: SocketIOConfiguration(recoveryWindow: window, recoveryLogBytes: logBytes))
        let namespace = server.namespace("/")
        // Weak: the engine's sessions close in deinit, when this object can no longer be reached.
        namespace.onConnect = { [weak self] socket in
            self?.connects.append((socket.id, socket.recovered))
            if !socket.recovered { socket.emit("welcome", [.string(socket.id)]) }
        }
        namespace.onDisconnect = { [weak self] _, reason in self?.disconnects.append(reason) }
        namespace.on("join") { socket, arguments, _ in socket.join(arguments.first?.stringValue ?? "") }
        namespace.on("leave") { socket, _, _ in socket.disconnect() }
    }

    /// A client joined to `/` with `auth`, and the packets it got (Socket.IO packets, the engine's "4" dropped).
    func connect(auth: String = "") -> (InMemoryWebSocket, [SocketIOPacket]) {
        let client = engine.connectInMemory()
        _ = client.takeFrames()
        client.clientSends("40" + auth)
        return (client, Self.packets(client))
    }

    static func packets(_ client: InMemoryWebSocket) -> [SocketIOPacket] {
        client.takeFrames().compactMap { try? SocketIOPacket.decode(Array($0.utf8.dropFirst())) }
    }

    var namespace: Namespace { server.namespace("/") }
}

/// The CONNECT reply's fields.
private func connectData(_ packets: [SocketIOPacket]) -> (sid: String?, pid: String?) {
    let data = packets.first { $0.type == .connect }?.data
    return (data?["sid"]?.stringValue, data?["pid"]?.stringValue)
}

/// The last argument of an event: its offset when recovery is on.
private func offset(_ packet: SocketIOPacket) -> String? { packet.arguments.last?.stringValue }

private func names(_ packets: [SocketIOPacket]) -> [String] { packets.compactMap(\.eventName) }

private func auth(pid: String?, offset: String?) -> String {
    "{\"pid\":\"\(pid ?? "")\",\"offset\":\"\(offset ?? "")\"}"
}

@Suite struct ConnectionStateRecoveryTests {
    @Test func offWhenTheWindowIsZero_noPidNoOffsetNothingKept() {
        let harness = RecoveryHarness(window: 0)
        let (client, packets) = harness.connect()
        #expect(connectData(packets).pid == nil)
        #expect(packets.last?.arguments.count == 1)  // welcome with the sid alone
        #expect(harness.namespace.recovery == nil)
        client.clientDisconnects()
        let (_, again) = harness.connect(auth: auth(pid: "x", offset: "1"))
        #expect(connectData(again).sid != connectData(packets).sid)
    }

    @Test func aDroppedClientGetsItsSidRoomsAndEveryMissedPacketInOrderOnce() throws {
        let harness = RecoveryHarness()
        let (client, packets) = harness.connect()
        let (sid, pid) = connectData(packets)
        let sidValue = try #require(sid)
        #expect(pid != nil && pid != sid)
        let welcome = try #require(packets.last)
        #expect(names([welcome]) == ["welcome"])
        client.clientSends("42[\"join\",\"room1\"]")
        harness.namespace.emit("seen", [.string("before the drop")])
        let seen = try #require(RecoveryHarness.packets(client).last)
        let lastSeen = try #require(offset(seen))

        client.clientDisconnects()
        #expect(harness.disconnects == [.transportClose])
        // Missed while away: to its sid, its room, everyone; not to a room it is not in, nor with it skipped.
        harness.namespace.emit("one", [], to: sidValue)
        harness.namespace.emit("two", [], to: "room1")
        harness.namespace.emit("other-room", [], to: "room2")
        harness.namespace.emit("skipped", [], to: nil, skip: [sidValue])
        harness.namespace.emit("three")
        harness.namespace.emitLocally("four")
        harness.clock.advance(by: 900)

        let (back, recovered) = harness.connect(auth: auth(pid: pid, offset: lastSeen))
        #expect(connectData(recovered).sid == sid)
        #expect(connectData(recovered).pid == pid)
        #expect(recovered.first?.type == .connect)
        #expect(names(recovered) == ["one", "two", "three", "four"])
        #expect(harness.connects.last?.recovered == true)
        // Its room came back with it: a newer emit to the room arrives after the missed ones.
        harness.namespace.emit("five", [], to: "room1")
        #expect(names(RecoveryHarness.packets(back)) == ["five"])
        #expect(harness.namespace.members(of: "room1") == [sidValue])

        // Once only: the same pid again is a new session.
        let (_, third) = harness.connect(auth: auth(pid: pid, offset: lastSeen))
        #expect(connectData(third).sid != sid)
        #expect(harness.connects.last?.recovered == false)
    }

    @Test func eventsWithAnAckCarryNoOffsetAndAreNotKept() throws {
        let harness = RecoveryHarness()
        let (client, _) = harness.connect()
        let socket = try #require(harness.namespace.sockets.values.first)
        socket.emit("ask", [.string("q")]) { _ in }
        let asked = RecoveryHarness.packets(client)
        #expect(asked.first?.arguments == [.string("q")])
        #expect(asked.first?.ackID != nil)
        #expect(harness.namespace.recovery?.log.count == 1)  // the welcome only
    }

    @Test func pastTheWindowItIsANewSession() throws {
        let harness = RecoveryHarness(window: 1000)
        let (client, packets) = harness.connect()
        let (sid, pid) = connectData(packets)
        client.clientDisconnects()
        harness.clock.advance(by: 1001)
        let (_, again) = harness.connect(auth: auth(pid: pid, offset: offset(packets.last!)))
        #expect(connectData(again).sid != sid)
        #expect(harness.connects.last?.recovered == false)
        #expect(harness.namespace.recovery?.sessions.count == 0)
    }

    @Test func theSweepFreesExpiredSessionsWithoutAnyoneComingBack() {
        let harness = RecoveryHarness(window: 1000)
        let (client, _) = harness.connect()
        client.clientDisconnects()
        #expect(harness.namespace.recovery?.sessions.count == 1)
        harness.clock.advance(by: 1002)
        #expect(harness.namespace.recovery?.sessions.count == 0)
    }

    @Test func aServerGoneWhileItsSweepWaitsLetsGoOfItsRecovery() {
        weak var recovery: ConnectionStateRecovery?
        do {
            let harness = RecoveryHarness(window: 1000)
            let (client, _) = harness.connect()
            client.clientDisconnects()  // kept for the window: the sweep waits
            recovery = harness.namespace.recovery
        }
        // A Bool: on failure the test would otherwise print the object, and its engine is gone.
        let freed = recovery == nil
        #expect(freed)
    }

    @Test func anUnknownPidOrOffsetIsANewSession() throws {
        let harness = RecoveryHarness()
        let (client, packets) = harness.connect()
        let (sid, pid) = connectData(packets)
        client.clientDisconnects()
        let (_, wrongPid) = harness.connect(auth: auth(pid: "not-a-pid", offset: offset(packets.last!)))
        #expect(connectData(wrongPid).sid != sid)
        let (_, wrongOffset) = harness.connect(auth: auth(pid: pid, offset: "12"))
        #expect(connectData(wrongOffset).sid != sid)
        // A refused attempt used the session up (as a second recovery would).
        #expect(harness.connects.allSatisfy { !$0.recovered })
    }

    @Test func anOffsetOlderThanTheLogKeepsIsRefusedNotDeliveredWithAHole() throws {
        let harness = RecoveryHarness(logBytes: 1000)
        let (client, packets) = harness.connect()
        let (sid, pid) = connectData(packets)
        client.clientDisconnects()
        for index in 0..<50 { harness.namespace.emit("flood", [.int(Int64(index))]) }
        #expect(harness.namespace.recovery?.log.dropped ?? 0 > 0)
        let (_, again) = harness.connect(auth: auth(pid: pid, offset: offset(packets.last!)))
        #expect(connectData(again).sid != sid)
        #expect(!names(again).contains("flood"))
    }

    @Test func leavingOnPurposeKeepsNothing() {
        let harness = RecoveryHarness()
        let (client, packets) = harness.connect()
        client.clientSends("41")
        #expect(harness.disconnects == [.clientNamespaceDisconnect])
        let (other, _) = harness.connect()
        other.clientSends("42[\"leave\"]")
        #expect(harness.disconnects.last == .serverNamespaceDisconnect)
        #expect(harness.namespace.recovery?.sessions.count == 0)
        let (_, again) = harness.connect(auth: auth(pid: connectData(packets).pid, offset: offset(packets.last!)))
        #expect(connectData(again).sid != connectData(packets).sid)
    }

    @Test func aPingTimeoutIsRecoverable() throws {
        let harness = RecoveryHarness()
        let (_, packets) = harness.connect()
        harness.clock.advance(by: 600)
        #expect(harness.disconnects == [.pingTimeout])
        let (_, again) = harness.connect(auth: auth(pid: connectData(packets).pid, offset: offset(packets.last!)))
        #expect(connectData(again).sid == connectData(packets).sid)
    }
}
