import EngineIOTesting
import Testing

@testable import EngineIO

/// The engine is pluggable: a third transport, registered from outside it (EngineIOTesting's
/// ``InMemoryTransport``), carries a whole session — handshake, messages both ways, heartbeat, an upgrade
/// from it to WebSocket, close — with no change to the engine. And the registry decides what is offered.
@Suite struct ThirdTransportTests {
    /// An engine that knows polling, WebSocket and the in-memory transport, and offers `offered` (default all).
    final class MemoryHarness {
        let clock = ManualClock()
        let engine: EngineServer
        let delegate = RecordingDelegate()
        let logged = LoggedLines()

        deinit { engine.closeAll() }

        init(offered: Set<TransportName>? = nil, registry: TransportRegistry = TransportRegistry.standard.registering(InMemoryTransport.kind)) {
            let logged = self.logged
            engine = EngineServer(
                configuration: EngineConfiguration(pingInterval: 300, pingTimeout: 200, transports: offered, registry: registry),
                clock: clock, log: Logger(level: .debug) { logged.lines.append($0) })
            clock.engine = engine
            engine.delegate = delegate
        }
    }

    static func text(_ packet: EnginePacket) -> String {
        String(decoding: [packet.type.digit] + packet.payload, as: UTF8.self)
    }

    @Test func aWholeSessionRunsOverTheThirdTransportAndUpgradesFromItToWebSocket() throws {
        let harness = MemoryHarness()
        let memory = try #require(harness.engine.connectInMemoryTransport())

        // Handshake: the open packet, whose upgrades come from the memory transport's registration.
        let open = memory.takeReceived().map(Self.text)
        #expect(open.count == 1)
        #expect(open.first?.hasPrefix("0{\"sid\":\"") == true)
        #expect(open.first?.contains("\"upgrades\":[\"websocket\"]") == true)
        let session = try #require(memory.session)
        #expect(harness.delegate.opened == [session.id])
        #expect(harness.logged.lines.contains { $0.hasPrefix("info open sid=\(session.id) peer=test transport=memory") })

        // Messages both ways.
        memory.clientSends(.message(Array("hello".utf8)))
        #expect(harness.delegate.messages == ["hello"])
        session.send(.message(Array("world".utf8)))
        #expect(memory.takeReceived().map(Self.text) == ["4world"])

        // Heartbeat: a ping each interval; answering keeps the session.
        harness.clock.advance(by: 300)
        #expect(memory.takeReceived().map(Self.text) == ["2"])
        memory.clientSends(EnginePacket(.pong))
        harness.clock.advance(by: 250)
        #expect(harness.delegate.closed.isEmpty)
        harness.clock.advance(by: 50)
        #expect(memory.takeReceived().map(Self.text) == ["2"])
        memory.clientSends(EnginePacket(.pong))

        // Upgrade from it to WebSocket: probe, the owed noop on the old transport, the upgrade packet.
        let socket = harness.engine.connectInMemory(query: "EIO=4&transport=websocket&sid=\(session.id)")
        #expect(session.state == .upgrading)
        socket.clientSends("2probe")
        #expect(socket.takeFrames() == ["3probe"])
        harness.clock.advance(by: 0)
        #expect(memory.takeReceived().map(Self.text) == ["6"])
        socket.clientSends("5")
        #expect(session.transport.name == .websocket)
        #expect(session.state == .open)
        #expect(memory.closedByUpgrade)
        #expect(memory.session == nil)
        memory.clientSends(.message(Array("lost".utf8)))  // the old transport no longer reaches the session
        #expect(harness.delegate.messages == ["hello"])
        session.send(.message(Array("on websocket".utf8)))
        #expect(socket.takeFrames() == ["4on websocket"])

        // Close by the client.
        socket.clientSends("1")
        #expect(harness.delegate.closed.map(\.1) == [.transportClose])
        #expect(harness.engine.sessionCount == 0)
    }

    @Test func theClientClosingTheThirdTransportEndsTheSession() throws {
        let harness = MemoryHarness()
        let memory = try #require(harness.engine.connectInMemoryTransport())
        memory.clientSends(EnginePacket(.close))
        #expect(harness.delegate.closed.map(\.1) == [.transportClose])
        #expect(memory.isClosed)
        #expect(harness.engine.sessionCount == 0)
    }

    @Test func theThirdTransportGoingAwayEndsTheSession() throws {
        let harness = MemoryHarness()
        let memory = try #require(harness.engine.connectInMemoryTransport())
        memory.clientDisconnects()
        #expect(harness.delegate.closed.map(\.1) == [.transportClose])
        #expect(harness.engine.sessionCount == 0)
    }

    @Test func aMissedPongOnTheThirdTransportTimesTheSessionOut() throws {
        let harness = MemoryHarness()
        let memory = try #require(harness.engine.connectInMemoryTransport())
        harness.clock.advance(by: 300)
        #expect(memory.takeReceived().map(Self.text).last == "2")
        harness.clock.advance(by: 200)
        #expect(harness.delegate.closed.map(\.1) == [.pingTimeout])
        #expect(memory.closeReason == .pingTimeout)
    }

    @Test func packetsWaitInTheSessionWhileTheThirdTransportCannotTakeThem() throws {
        let harness = MemoryHarness()
        let memory = try #require(harness.engine.connectInMemoryTransport())
        _ = memory.takeReceived()
        memory.isReading = false
        let session = try #require(memory.session)
        session.send(.message(Array("a".utf8)))
        session.send(.message(Array("b".utf8)))
        #expect(memory.received.isEmpty)
        memory.isReading = true
        #expect(memory.takeReceived().map(Self.text) == ["4a", "4b"])
    }

    @Test func anEngineThatDoesNotRegisterItRefusesIt() {
        let harness = MemoryHarness(registry: .standard)
        #expect(harness.engine.connectInMemoryTransport() == nil)
        #expect(harness.logged.lines.contains { $0.contains("code=0") && $0.contains("transport=memory") })
        #expect(harness.engine.sessionCount == 0)
    }

    @Test func anEngineThatRegistersButDoesNotOfferItRefusesIt() {
        let harness = MemoryHarness(offered: [.polling, .websocket])
        #expect(harness.engine.connectInMemoryTransport() == nil)
        #expect(harness.logged.lines.contains { $0.contains("code=0") && $0.contains("transport=memory") })
    }

    @Test func aTransportThatDoesNotTravelOverHTTPRefusesAPlainRequest() {
        let harness = MemoryHarness()
        let responder = harness.engine.requestInMemory(.get, query: "EIO=4&transport=memory")
        #expect(responder.status == 400)
        #expect(responder.body?.contains("\"code\":3") == true)
        #expect(harness.engine.sessionCount == 0)
    }

    @Test func pollingCannotUpgradeToATransportItDoesNotList() {
        let harness = MemoryHarness()
        let body = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling").body ?? ""
        #expect(body.contains("\"upgrades\":[\"websocket\"]"))
        let sid = String(body.dropFirst(9).prefix(20))
        #expect(harness.engine.connectInMemoryTransport(query: "EIO=4&transport=memory&sid=\(sid)") == nil)
        #expect(harness.logged.lines.contains { $0.hasPrefix("warn refused upgrade sid=\(sid)") })
        #expect(harness.engine.session(id: sid)?.state == .open)
    }

    @Test func aWebSocketSessionCannotUpgradeToTheThirdTransport() throws {
        let harness = MemoryHarness()
        let socket = harness.engine.connectInMemory()
        let sid = try #require(socket.transport?.session?.id)
        #expect(harness.engine.connectInMemoryTransport(query: "EIO=4&transport=memory&sid=\(sid)") == nil)
        #expect(harness.engine.session(id: sid)?.transport.name == .websocket)
    }

    @Test func aKindThatCannotOpenASessionIsRefusedAtTheHandshake() {
        let upgradeOnly = TransportKind(name: .memory, canOpenSession: false)
        let harness = MemoryHarness(registry: TransportRegistry.standard.registering(upgradeOnly))
        #expect(harness.engine.connectInMemoryTransport() == nil)
        #expect(harness.logged.lines.contains { $0.contains("cannot open a session") })
    }

    @Test func registeringTheSameNameAgainReplacesIt() {
        var registry = TransportRegistry.standard
        registry.register(TransportKind(name: .polling))
        #expect(registry.names == [.polling, .websocket])
        #expect(registry.kind(named: .polling)?.upgradesTo == [])
        #expect(registry.kind(named: .polling)?.travelsOverHTTP == false)
    }
}

/// `--transports`: the open packet's upgrades list only what is offered, and what is not offered is refused.
@Suite struct OfferedTransportsTests {
    @Test func pollingOnlyOffersNoUpgrade() {
        let harness = ThirdTransportTests.MemoryHarness(offered: [.polling], registry: .standard)
        let body = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling").body ?? ""
        #expect(body.contains("\"upgrades\":[]"))
        let socket = harness.engine.connectInMemory()
        #expect(socket.transport == nil)
        #expect(harness.engine.sessionCount == 1)
    }

    @Test func webSocketOnlyRefusesPolling() {
        let harness = ThirdTransportTests.MemoryHarness(offered: [.websocket], registry: .standard)
        let responder = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling")
        #expect(responder.status == 400)
        #expect(responder.body?.contains("\"code\":0") == true)
        let socket = harness.engine.connectInMemory()
        #expect(socket.takeFrames().first?.contains("\"upgrades\":[]") == true)
    }

    @Test func bothOfferPollingTheUpgrade() {
        let harness = ThirdTransportTests.MemoryHarness(registry: .standard)
        let body = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling").body ?? ""
        #expect(body.contains("\"upgrades\":[\"websocket\"]"))
    }
}

/// A broadcast's frame, built once, reaches a transport's connection through the transport protocol
/// (`frameConnection`), not by the engine knowing a concrete transport type: a third framed transport gets
/// it as WebSocket does, and the in-memory transport, which has no frames, gets the packet.
@Suite struct SharedFrameRoutingTests {
    final class RecordingConnection: WebSocketConnection {
        var shared: [SharedTextFrame] = []
        var texts: [[UInt8]] = []
        func sendFrame(_ bytes: [UInt8], binary: Bool) { texts.append(bytes) }
        func sendText(digit: UInt8, payload: [UInt8]) { texts.append([digit] + payload) }
        func sendShared(_ frame: SharedTextFrame) { shared.append(frame) }
        func close(code: UInt16) {}
        var outbound: OutboundBudget { OutboundBudget(limit: 1 << 20) }
    }

    /// Registered under the in-memory name, so the engine accepts it; each packet is a frame on `connection`.
    final class FramedTransport: Transport {
        let name = TransportName.memory
        var session: EngineSession?
        var isWritable: Bool { true }
        let connection = RecordingConnection()
        var frameConnection: (any WebSocketConnection)? { connection }
        func send(_ packets: [EnginePacket]) { for packet in packets { connection.sendText(digit: packet.type.digit, payload: packet.payload) } }
        func close() {}
        var outbound: OutboundBudget { connection.outbound }
    }

    @Test func aFramedThirdTransportGetsTheSharedFrameAndAnUnframedOneThePacket() throws {
        let harness = ThirdTransportTests.MemoryHarness()
        let framed = FramedTransport()
        let request = HTTPRequest(method: .get, path: harness.engine.configuration.path, query: QueryParameters("EIO=4&transport=memory"))
        #expect(harness.engine.open(request, on: framed))
        let memory = try #require(harness.engine.connectInMemoryTransport())
        _ = memory.takeReceived()

        let frame = SharedTextFrame(.message(Array("hello".utf8)))
        try #require(framed.session).sendShared(frame)
        try #require(memory.session).sendShared(frame)
        #expect(framed.connection.shared.count == 1)
        #expect(memory.takeReceived().map(ThirdTransportTests.text) == ["4hello"])
    }
}
