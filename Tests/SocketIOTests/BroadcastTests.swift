import EngineIO
import EngineIOTesting
import Testing

@testable import SocketIO

/// The frame a broadcast builds once for every WebSocket recipient.
@Suite struct SharedTextFrameTests {
    @Test(arguments: [0, 1, 124, 125, 126, 127, 65_535, 65_536, 70_000])
    func theFrameIsOneUnmaskedFinalTextFrameOfTheDigitAndPayload(payloadLength: Int) {
        let payload = (0..<payloadLength).map { UInt8(ascii: "a") &+ UInt8($0 % 26) }
        let frame = SharedTextFrame(.message(payload))
        let bytes = Array(frame.bytes)
        #expect(InMemoryWebSocket.textPayload(ofFrame: bytes).map(Array.init) == [UInt8(ascii: "4")] + payload)
        #expect(frame.countedLength == payloadLength + 1)
    }

    @Test func headerLengthsFollowRFC6455() {
        #expect(SharedTextFrame.header(payloadLength: 0) == [0x81, 0])
        #expect(SharedTextFrame.header(payloadLength: 125) == [0x81, 125])
        #expect(SharedTextFrame.header(payloadLength: 126) == [0x81, 126, 0, 126])
        #expect(SharedTextFrame.header(payloadLength: 65_535) == [0x81, 126, 0xFF, 0xFF])
        #expect(SharedTextFrame.header(payloadLength: 65_536) == [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0])
    }

    @Test func theFrameCarriesThePacketsOwnTypeDigit() {
        let frame = SharedTextFrame(EnginePacket(.noop))
        #expect(Array(frame.bytes) == [0x81, 1, UInt8(ascii: "6")])
    }
}

/// A broadcast to everyone walks the namespace's recipient list: each member exactly once, nobody who left.
@Suite struct BroadcastToEveryoneTests {
    private static let event = "42[\"tick\",1]"

    /// `count` clients joined to `/`, their connect frames taken.
    private func joined(_ harness: ServerHarness, _ count: Int) -> [InMemoryWebSocket] {
        (0..<count).map { _ in
            let client = harness.client()
            client.clientSends("40")
            _ = client.takeFrames()
            return client
        }
    }

    private func tick(_ harness: ServerHarness) {
        harness.server.namespace("/").emit("tick", [1])
    }

    @Test func everyMemberGetsItOnceAsTheSharedFrame() {
        let harness = ServerHarness()
        let clients = joined(harness, 5)
        tick(harness)
        for client in clients {
            #expect(client.takeFrames() == [Self.event])
            #expect(client.sharedFramesSent == 1)
        }
    }

    @Test func aSocketThatLeftTheNamespaceOrDisconnectedIsNeverWrittenTo() {
        let harness = ServerHarness()
        let clients = joined(harness, 6)
        clients[1].clientSends("41")  // leaves the namespace; its Engine.IO session stays open
        clients[4].clientDisconnects()
        clients[5].clientSends("41")  // the last slot: nothing moves into it
        for client in clients { _ = client.takeFrames() }
        tick(harness)
        for (index, client) in clients.enumerated() {
            #expect(client.takeFrames() == ([1, 4, 5].contains(index) ? [] : [Self.event]), "client \(index)")
        }
        #expect(clients[1].sharedFramesSent == 0)
        #expect(harness.server.namespace("/").recipients.members == 3)
        #expect(harness.server.namespace("/").recipients.count == 3)
    }

    @Test func aSocketThatRejoinsGetsItOnce() {
        let harness = ServerHarness()
        let clients = joined(harness, 3)
        clients[0].clientSends("41")
        clients[0].clientSends("40")
        _ = clients[0].takeFrames()
        tick(harness)
        for client in clients { #expect(client.takeFrames() == [Self.event]) }
    }

    /// A handler run by one recipient's send (its outbound limit ends its session) disconnects a member
    /// further down the list and one already served: the first must not be written to after it left,
    /// nobody may get the broadcast twice, and the list must be whole again afterwards.
    @Test func membersLeavingDuringTheWalkAreSkippedAndTheListClosesUp() {
        let harness = ServerHarness(maxBuffered: 64)
        let namespace = harness.server.namespace("/")
        let clients = joined(harness, 6)
        var socketsBySid: [String: Socket] = [:]
        for socket in namespace.sockets.values { socketsBySid[socket.id] = socket }
        // The walk goes in join order; find which socket is which client by its slot.
        let bySlot = namespace.sockets.values.sorted { $0.recipientIndex < $1.recipientIndex }
        // Client 2 stops reading and already holds 60 bytes: the broadcast takes it past 64.
        clients[2].isReading = false
        bySlot[2].emit("fill", [.string(String(repeating: "x", count: 45))])
        var leftDuringWalk: [String] = []
        namespace.onDisconnect = { socket, _ in
            leftDuringWalk.append(socket.id)
            guard socket === bySlot[2] else { return }
            bySlot[4].disconnect()  // not yet reached
            bySlot[0].disconnect()  // already served
        }
        for client in clients { _ = client.takeFrames() }
        tick(harness)
        let frames = clients.map { $0.takeFrames() }
        #expect(frames[0] == [Self.event, "41"])
        #expect(frames[1] == [Self.event])
        #expect(frames[2] == [])
        #expect(clients[2].closeCode != nil)
        #expect(frames[3] == [Self.event])
        #expect(frames[4] == ["41"])  // its DISCONNECT, never the broadcast
        #expect(frames[5] == [Self.event])
        #expect(leftDuringWalk.count == 3)
        #expect(namespace.recipients.count == 3)
        #expect(namespace.recipients.members == 3)
        // The closed-up list still reaches each remaining member exactly once.
        tick(harness)
        #expect(clients.map { $0.takeFrames() } == [[], [Self.event], [], [Self.event], [], [Self.event]])
    }

    @Test func aBroadcastFromAHandlerDuringTheWalkReachesEveryoneInOrder() {
        let harness = ServerHarness(maxBuffered: 64)
        let namespace = harness.server.namespace("/")
        let clients = joined(harness, 4)
        let bySlot = namespace.sockets.values.sorted { $0.recipientIndex < $1.recipientIndex }
        clients[1].isReading = false
        bySlot[1].emit("fill", [.string(String(repeating: "x", count: 45))])
        namespace.onDisconnect = { [unowned namespace] _, _ in namespace.emit("gone", []) }
        for client in clients { _ = client.takeFrames() }
        tick(harness)
        let gone = "42[\"gone\"]"
        #expect(clients[0].takeFrames() == [Self.event, gone])
        #expect(clients[1].takeFrames() == [])
        #expect(clients[2].takeFrames() == [gone, Self.event])
        #expect(clients[3].takeFrames() == [gone, Self.event])
    }

    @Test func aPollingMemberGetsItOnceInItsNextResponse() throws {
        let harness = ServerHarness()
        let webSockets = joined(harness, 2)
        let handshake = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling").body ?? ""
        let sid = String(handshake.dropFirst(9).prefix(20))
        harness.engine.requestInMemory(.post, query: "EIO=4&transport=polling&sid=\(sid)", body: "40")
        _ = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")  // the CONNECT reply
        tick(harness)
        let poll = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        #expect(poll.body == Self.event)
        for client in webSockets { #expect(client.takeFrames() == [Self.event]) }
    }

    @Test func aBinaryBroadcastStillReachesEveryMemberWithItsAttachment() {
        let harness = ServerHarness()
        let clients = joined(harness, 3)
        harness.server.namespace("/").emit("blob", [.binary([7])])
        for client in clients {
            #expect(client.takeFrames() == ["451-[\"blob\",{\"_placeholder\":true,\"num\":0}]", "<binary>7"])
            #expect(client.sharedFramesSent == 0)
        }
    }

    /// With connection state recovery on, the broadcast is logged once and its one offset is in every
    /// recipient's frame; a client that comes back after missing it gets those same bytes.
    @Test func withRecoveryEveryRecipientGetsTheSameOffset() throws {
        let clock = ManualClock()
        let engine = EngineServer(
            configuration: EngineConfiguration(pingInterval: 300, pingTimeout: 200), clock: clock, log: Logger(level: .error, sink: { _ in }))
        clock.engine = engine
        let server = SocketIOServer(engine: engine, configuration: SocketIOConfiguration(recoveryWindow: 1000))
        // The sessions close while the server (their delegate, which breaks each session's cycle) is alive.
        defer { withExtendedLifetime(server) { engine.closeAll() } }
        let namespace = server.namespace("/")
        let clients = (0..<3).map { _ in
            let client = engine.connectInMemory()
            client.clientSends("40")
            _ = client.takeFrames()
            return client
        }
        namespace.emit("tick", [1])
        let frames = clients.map { $0.takeFrames() }
        let first = try #require(frames.first?.first)
        #expect(first.hasPrefix("42[\"tick\",1,\""))
        #expect(frames.allSatisfy { $0 == [first] })
        #expect(clients.allSatisfy { $0.sharedFramesSent == 1 })
    }
}
