import EngineIOTesting
import Testing

@testable import EngineIO

/// The counters behind `/metrics`, moved by sessions over in-memory transports: opens and closes by
/// reason, sessions by transport across an upgrade, messages and bytes each way (pings and probes are
/// not messages).
@Suite struct EngineCountersTests {
    @Test func websocketSessionIsCountedFromOpenToClose() {
        let harness = Harness()
        let socket = harness.engine.connectInMemory()
        #expect(harness.engine.counters.sessionsOpened == 1)
        #expect(harness.engine.counters.openByTransport[.websocket] == 1)
        socket.clientSends("4hello")
        socket.clientSends("4hi")
        #expect(harness.engine.counters.messagesReceived == 2)
        #expect(harness.engine.counters.bytesReceived == 7)
        harness.engine.session(id: harness.delegate.opened[0])?.send(.message(Array("reply".utf8)))
        harness.clock.advance(by: 300)  // a ping: not a message
        #expect(harness.engine.counters.messagesSent == 1)
        #expect(harness.engine.counters.bytesSent == 5)
        socket.clientSends("1")
        #expect(harness.engine.counters.openByTransport[.websocket] == 0)
        #expect(harness.engine.counters.closes == [.transportClose: 1])
    }

    @Test func closesAreCountedByReason() {
        let harness = Harness()
        _ = harness.engine.connectInMemory()
        let lost = harness.engine.connectInMemory()
        lost.clientDisconnects()
        harness.clock.advance(by: 500)  // the first never answers its ping
        #expect(harness.engine.counters.closes == [.transportClose: 1, .pingTimeout: 1])
        #expect(harness.engine.counters.openByTransport[.websocket] == 0)
    }

    @Test func anUpgradeMovesTheSessionBetweenTransports() throws {
        let harness = Harness()
        let sid = harness.openPolling()
        #expect(harness.engine.counters.openByTransport[.polling] == 1)
        _ = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        let socket = harness.engine.connectInMemory(query: "EIO=4&transport=websocket&sid=\(sid)")
        socket.clientSends("2probe")
        harness.clock.advance(by: 0)
        socket.clientSends("5")
        #expect(harness.engine.counters.upgrades == 1)
        #expect(harness.engine.counters.openByTransport == [.polling: 0, .websocket: 1])
        #expect(harness.engine.counters.sessionsOpened == 1)
        #expect(harness.engine.counters.messagesReceived == 0)
    }
}
