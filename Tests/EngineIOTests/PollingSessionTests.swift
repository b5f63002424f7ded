import EngineIOTesting
import Testing

@testable import EngineIO

@Suite struct PollingSessionTests {
    @Test func handshakeOffersTheWebSocketUpgrade() {
        let harness = Harness()
        let body = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling").body ?? ""
        #expect(body.hasPrefix("0{\"sid\":\""))
        #expect(body.contains("\"upgrades\":[\"websocket\"]"))
    }

    @Test func getIsHeldUntilThereIsSomethingToSend() throws {
        let harness = Harness()
        let sid = harness.openPolling()
        let get = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        #expect(get.response == nil)
        let session = try #require(harness.engine.session(id: sid))
        session.send(.message(Array("a".utf8)))
        #expect(get.body == "4a")
    }

    @Test func queuedPacketsLeaveTogetherOnTheNextGet() throws {
        let harness = Harness()
        let sid = harness.openPolling()
        let session = try #require(harness.engine.session(id: sid))
        session.send(.message(Array("a".utf8)))
        session.send(.binary([1, 2]))
        let get = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        #expect(get.body == "4a\u{1E}bAQI=")
    }

    @Test func postDeliversEveryPacketAndAnswersOk() {
        let harness = Harness()
        let sid = harness.openPolling()
        let post = harness.engine.requestInMemory(.post, query: "EIO=4&transport=polling&sid=\(sid)", body: "4one\u{1E}4two")
        #expect(post.status == 200)
        #expect(post.body == "ok")
        #expect(harness.delegate.messages == ["one", "two"])
    }

    @Test func badPostBodyIs400AndClosesTheSession() {
        let harness = Harness()
        let sid = harness.openPolling()
        let post = harness.engine.requestInMemory(.post, query: "EIO=4&transport=polling&sid=\(sid)", body: "9x")
        #expect(post.status == 400)
        #expect(harness.engine.sessionCount == 0)
        #expect(harness.delegate.closed.map(\.1) == [.parseError])
    }

    @Test func overlappingGetClosesTheSessionAndReleasesTheFirstWithAClosePacket() {
        let harness = Harness()
        let sid = harness.openPolling()
        let first = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        let second = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        #expect(second.status == 400)
        #expect(first.body == "1")
        #expect(harness.engine.sessionCount == 0)
    }

    @Test func closePacketReleasesThePendingGetWithANoop() {
        let harness = Harness()
        let sid = harness.openPolling()
        let get = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        let post = harness.engine.requestInMemory(.post, query: "EIO=4&transport=polling&sid=\(sid)", body: "1")
        #expect(post.body == "ok")
        #expect(get.body == "6")
        #expect(harness.engine.sessionCount == 0)
    }

    @Test func clientThatStopsPollingIsGoneAfterIntervalPlusTimeout() {
        let harness = Harness()
        let sid = harness.openPolling()
        harness.clock.advance(by: 300 + 200)
        #expect(harness.engine.sessionCount == 0)
        #expect(harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)").status == 400)
    }

    @Test func expiredSessionIsRefusedEvenBeforeItsTimerFires() {
        let harness = Harness()
        let sid = harness.openPolling()
        harness.clock.advance(by: 300)  // the ping is queued; the pong is due at +200
        // Time passes without the timer firing (a busy thread): the request decides by the clock.
        harness.clock.engine = nil
        harness.clock.advance(by: 200)
        #expect(harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)").status == 400)
        #expect(harness.delegate.closed.map(\.1) == [.pingTimeout])
    }

    @Test func abandonedGetEndsTheSession() {
        let harness = Harness()
        let sid = harness.openPolling()
        let get = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        get.clientAbandons()
        #expect(harness.engine.sessionCount == 0)
        #expect(harness.delegate.closed.map(\.1) == [.transportError])
    }
}

@Suite struct UpgradeTests {
    @Test func probeUpgradeMovesTheSessionToWebSocket() throws {
        let harness = Harness()
        let sid = harness.openPolling()
        let get = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        let socket = harness.engine.connectInMemory(query: "EIO=4&transport=websocket&sid=\(sid)")
        socket.clientSends("2probe")
        #expect(socket.takeFrames() == ["3probe"])
        // The noop leaves once the input of this loop turn has been handled.
        #expect(get.body == nil)
        harness.clock.advance(by: 0)
        #expect(get.body == "6")
        socket.clientSends("5")
        let session = try #require(harness.engine.session(id: sid))
        #expect(session.transport.name == .websocket)
        session.send(.message(Array("after".utf8)))
        #expect(socket.takeFrames() == ["4after"])
        // The polling side is finished: plain HTTP for this sid is refused, and a second WebSocket is
        // accepted only to be closed at once.
        #expect(harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)").status == 400)
        let request = HTTPRequest(method: .get, path: "/socket.io/", query: QueryParameters("EIO=4&transport=websocket&sid=\(sid)"))
        #expect(harness.engine.refusalForWebSocket(request) == nil)
        #expect(harness.engine.connectInMemory(query: "EIO=4&transport=websocket&sid=\(sid)").transport == nil)
        #expect(session.transport.name == .websocket)
    }

    @Test func packetsQueuedDuringTheUpgradeAreNeitherLostNorReordered() throws {
        let harness = Harness()
        let sid = harness.openPolling()
        let session = try #require(harness.engine.session(id: sid))
        let socket = harness.engine.connectInMemory(query: "EIO=4&transport=websocket&sid=\(sid)")
        socket.clientSends("2probe")
        _ = socket.takeFrames()
        session.send(.message(Array("one".utf8)))
        session.send(.message(Array("two".utf8)))
        socket.clientSends("5")
        #expect(socket.takeFrames() == ["4one", "4two"])
    }

    @Test func failedProbeLeavesPollingWorking() throws {
        let harness = Harness()
        let sid = harness.openPolling()
        let socket = harness.engine.connectInMemory(query: "EIO=4&transport=websocket&sid=\(sid)")
        socket.clientSends("4not-a-probe")
        #expect(socket.closeCode != nil)
        let session = try #require(harness.engine.session(id: sid))
        #expect(session.state == .open)
        #expect(session.transport.name == .polling)
        let get = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        session.send(.message(Array("still here".utf8)))
        #expect(get.body == "4still here")
    }
}
