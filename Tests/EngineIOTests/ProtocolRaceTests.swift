import EngineIOTesting
import Testing

@testable import EngineIO

/// Requests that race on separate connections get one answer whatever order the server reads them in.
@Suite struct ProtocolRaceTests {
    private func get(_ harness: Harness, _ sid: String) -> RecordingResponder {
        harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
    }

    private func post(_ harness: Harness, _ sid: String, _ body: String) -> RecordingResponder {
        harness.engine.requestInMemory(.post, query: "EIO=4&transport=polling&sid=\(sid)", body: body)
    }

    @Test func closePostBeforeTheGetStillReleasesThatGetWithANoop() {
        let harness = Harness()
        let sid = harness.openPolling()
        #expect(post(harness, sid, "1").body == "ok")
        #expect(harness.delegate.closed.map(\.1) == [.transportClose])
        let late = get(harness, sid)
        #expect(late.status == 200)
        #expect(late.body == "6")
        // Only that one GET: the sid is unknown from then on.
        #expect(get(harness, sid).status == 400)
    }

    @Test func theNoopForALateGetIsOnlyKeptForPingTimeout() {
        let harness = Harness()
        let sid = harness.openPolling()
        _ = post(harness, sid, "1")
        harness.clock.advance(by: 200)
        let responder = get(harness, sid)
        #expect(responder.status == 400)
        #expect(responder.body == "{\"code\":1,\"message\":\"Session ID unknown\"}")
    }

    @Test func closePostAfterTheGetReleasesItAtOnce() {
        let harness = Harness()
        let sid = harness.openPolling()
        let held = get(harness, sid)
        #expect(held.response == nil)
        _ = post(harness, sid, "1")
        #expect(held.body == "6")
        #expect(get(harness, sid).status == 400)
    }

    @Test func getReadBeforeTheProbeAndUpgradePacketsIsRefusedOnceTheUpgradeCompletes() {
        let harness = Harness()
        let sid = harness.openPolling()
        let socket = harness.engine.connectInMemory(query: "EIO=4&transport=websocket&sid=\(sid)")
        let held = get(harness, sid)
        socket.clientSends("2probe")
        socket.clientSends("5")
        harness.clock.advance(by: 0)
        #expect(held.response == nil)  // the WebSocket's frames get a head start
        harness.clock.advance(by: EngineSession.refusalDelayAfterUpgrade)
        #expect(held.status == 400)
        #expect(socket.takeFrames() == ["3probe"])
        let session = harness.engine.session(id: sid)
        #expect(session?.transport.name == .websocket)
        socket.clientSends("4hello")
        #expect(harness.delegate.messages == ["hello"])
    }

    @Test func getReadBetweenProbeAndUpgradePacketIsRefusedToo() {
        let harness = Harness()
        let sid = harness.openPolling()
        let socket = harness.engine.connectInMemory(query: "EIO=4&transport=websocket&sid=\(sid)")
        socket.clientSends("2probe")
        let held = get(harness, sid)
        socket.clientSends("5")
        harness.clock.advance(by: 0)
        #expect(held.response == nil)  // the WebSocket's frames get a head start
        harness.clock.advance(by: EngineSession.refusalDelayAfterUpgrade)
        #expect(held.status == 400)
        #expect(get(harness, sid).status == 400)
    }

    @Test func secondWebSocketDuringAnUpgradeIsClosedAndTheProbeGoesOn() {
        let harness = Harness()
        let sid = harness.openPolling()
        let first = harness.engine.connectInMemory(query: "EIO=4&transport=websocket&sid=\(sid)")
        let second = harness.engine.connectInMemory(query: "EIO=4&transport=websocket&sid=\(sid)")
        #expect(second.transport == nil)
        first.clientSends("2probe")
        #expect(first.takeFrames() == ["3probe"])
        first.clientSends("5")
        #expect(harness.engine.session(id: sid)?.transport.name == .websocket)
    }

    @Test func webSocketForAnUnknownSidIsRefusedBeforeTheUpgrade() {
        let harness = Harness()
        let request = HTTPRequest(method: .get, path: "/socket.io/", query: QueryParameters("EIO=4&transport=websocket&sid=nope"))
        #expect(harness.engine.refusalForWebSocket(request)?.code == 1)
    }

    @Test func pingTimeoutIsDecidedByTheClockEvenWhenThePingTimerRanLate() {
        let harness = Harness()
        let sid = harness.openPolling()
        // The ping timer runs 7 ms late; the pong is still due 500 ms after the open.
        harness.clock.engine = nil  // timers run only when the test says so
        harness.clock.advance(by: 307)
        harness.engine.fireTimers()
        harness.clock.advance(by: 192)
        #expect(harness.engine.session(id: sid) != nil)
        harness.clock.advance(by: 1)
        #expect(get(harness, sid).status == 400)
        #expect(harness.delegate.closed.map(\.1) == [.pingTimeout])
    }

    @Test func pollingClientGetsNoPingsAfterItsSessionClosed() {
        let harness = Harness()
        let sid = harness.openPolling()
        let held = get(harness, sid)
        _ = post(harness, sid, "1")
        #expect(held.body == "6")
        harness.clock.advance(by: 5_000)
        #expect(harness.engine.sessionCount == 0)
        #expect(harness.delegate.messages.isEmpty)
    }

    @Test func closedWebSocketSessionSidIsRefusedForPolling() throws {
        let harness = Harness()
        let socket = harness.engine.connectInMemory()
        let open = try #require(socket.takeFrames().first)
        let sid = String(open.dropFirst(9).prefix(20))
        socket.clientSends("1")
        let responder = get(harness, sid)
        #expect(responder.status == 400)
        #expect(responder.body == "{\"code\":1,\"message\":\"Session ID unknown\"}")
    }
}

@Suite struct OversizeBodyTests {
    @Test func bodyOverMaxPayloadIs413AndEndsItsSession() {
        let harness = Harness(maxPayload: 10)
        let sid = harness.openPolling()
        let request = HTTPRequest(method: .post, path: "/socket.io/", query: QueryParameters("EIO=4&transport=polling&sid=\(sid)"))
        let response = harness.engine.refuseBody(of: request, .payloadTooLarge("test"))
        #expect(response.status == 413)
        #expect(response.body == Array("{\"code\":3,\"message\":\"Payload too large\"}".utf8))
        #expect(harness.engine.sessionCount == 0)
        #expect(harness.delegate.closed.map(\.1) == [.transportError])
    }

    @Test func bodyWithoutALengthIs411AndKeepsTheSession() {
        let harness = Harness()
        let sid = harness.openPolling()
        let request = HTTPRequest(method: .post, path: "/socket.io/", query: QueryParameters("EIO=4&transport=polling&sid=\(sid)"))
        #expect(harness.engine.refuseBody(of: request, .lengthRequired("test")).status == 411)
        #expect(harness.engine.sessionCount == 1)
    }
}

@Suite struct UpgradeNoopTests {
    @Test func everyGetDuringTheUpgradeIsReleasedWithANoop() {
        let harness = Harness()
        let sid = harness.openPolling()
        let socket = harness.engine.connectInMemory(query: "EIO=4&transport=websocket&sid=\(sid)")
        let first = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        socket.clientSends("2probe")
        harness.clock.advance(by: 0)
        #expect(first.body == "6")
        // The client had not read 3probe yet and polled again: that GET must not hang until the next ping.
        let second = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        harness.clock.advance(by: 0)
        #expect(second.body == "6")
        socket.clientSends("5")
        #expect(harness.engine.session(id: sid)?.transport.name == .websocket)
    }
}
