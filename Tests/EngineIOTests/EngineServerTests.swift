import EngineIOTesting
import Testing

@testable import EngineIO

/// Records what the engine tells the layer above.
final class RecordingDelegate: EngineServerDelegate {
    var opened: [String] = []
    var messages: [String] = []
    var closed: [(String, DisconnectReason)] = []

    func engineSessionDidOpen(_ session: EngineSession) { opened.append(session.id) }
    func engineSession(_ session: EngineSession, didReceive packet: EnginePacket) {
        messages.append(String(decoding: packet.payload, as: UTF8.self))
    }
    func engineSession(_ session: EngineSession, didCloseWith reason: DisconnectReason) { closed.append((session.id, reason)) }
}

/// Log lines kept for a test to read. `@unchecked Sendable`: only the test's own thread, which also runs
/// the engine, touches it.
final class LoggedLines: @unchecked Sendable {
    var lines: [String] = []
}

/// An engine with a hand-moved clock, pingInterval 300 ms and pingTimeout 200 ms (the suites' values).
final class Harness {
    let clock = ManualClock()
    let engine: EngineServer
    let delegate = RecordingDelegate()

    /// Every line the engine logged (warn and above).
    let logged = LoggedLines()

    /// Ends the sessions a test left open: each one and its transport hold each other until it closes,
    /// so without this every test's engine would leak (AddressSanitizer's leak check reports it).
    deinit { engine.closeAll() }

    init(
        cors: CORSPolicy = .anyOrigin, maxPayload: Int = 1_000_000, maxBuffered: Int = EngineConfiguration.defaultMaxBuffered,
        maxBufferedTotal: Int = 1 << 30
    ) {
        let logged = self.logged
        engine = EngineServer(
            configuration: EngineConfiguration(
                pingInterval: 300, pingTimeout: 200, maxPayload: maxPayload, maxBuffered: maxBuffered, maxBufferedTotal: maxBufferedTotal,
                cors: cors),
            clock: clock, log: Logger(level: .warn) { logged.lines.append($0) })
        clock.engine = engine
        engine.delegate = delegate
    }

    /// Opens a polling session and returns its sid.
    func openPolling() -> String {
        let body = engine.requestInMemory(.get, query: "EIO=4&transport=polling").body ?? ""
        // The open packet starts `0{"sid":"` and the sid is 20 characters.
        return String(body.dropFirst(9).prefix(20))
    }
}

@Suite struct WebSocketSessionTests {
    @Test func handshakeSendsTheOpenPacket() throws {
        let harness = Harness()
        let socket = harness.engine.connectInMemory()
        let frames = socket.takeFrames()
        #expect(frames.count == 1)
        let open = try #require(frames.first)
        #expect(open.hasPrefix("0{\"sid\":\""))
        #expect(open.hasSuffix("\",\"upgrades\":[],\"pingInterval\":300,\"pingTimeout\":200,\"maxPayload\":1000000}"))
        #expect(harness.delegate.opened.count == 1)
        #expect(harness.engine.sessionCount == 1)
    }

    @Test func messagesReachTheDelegate() {
        let harness = Harness()
        let socket = harness.engine.connectInMemory()
        socket.clientSends("4hello")
        socket.clientSends("6")
        #expect(harness.delegate.messages == ["hello"])
    }

    @Test func heartbeatKeepsAnAnsweringClient() {
        let harness = Harness()
        let socket = harness.engine.connectInMemory()
        _ = socket.takeFrames()
        for _ in 0..<5 {
            harness.clock.advance(by: 300)
            #expect(socket.takeFrames() == ["2"])
            harness.clock.advance(by: 100)
            socket.clientSends("3")
        }
        #expect(harness.engine.sessionCount == 1)
        #expect(socket.closeCode == nil)
    }

    @Test func silentClientIsClosedAtPingTimeout() {
        let harness = Harness()
        let socket = harness.engine.connectInMemory()
        harness.clock.advance(by: 300)
        harness.clock.advance(by: 199)
        #expect(harness.engine.sessionCount == 1)
        harness.clock.advance(by: 1)
        #expect(harness.engine.sessionCount == 0)
        #expect(harness.delegate.closed.map(\.1) == [.pingTimeout])
        #expect(socket.closeCode == 1000)
    }

    @Test func clientClosePacketAndSocketLossEndTheSession() {
        let harness = Harness()
        let first = harness.engine.connectInMemory()
        first.clientSends("1")
        let second = harness.engine.connectInMemory()
        second.clientDisconnects()
        #expect(harness.delegate.closed.map(\.1) == [.transportClose, .transportClose])
        #expect(harness.engine.sessionCount == 0)
    }

    @Test(arguments: ["9", "", "0{}", "2", "5"])
    func protocolViolationsCloseTheSession(frame: String) {
        let harness = Harness()
        let socket = harness.engine.connectInMemory()
        socket.clientSends(frame)
        #expect(harness.engine.sessionCount == 0)
        #expect(socket.closeCode != nil)
        #expect(harness.delegate.closed.map(\.1) == [.parseError])
    }

    @Test func oversizeMessageClosesWith1009() {
        let harness = Harness(maxPayload: 10)
        let socket = harness.engine.connectInMemory()
        socket.transport?.receivedOversizeFrame(size: 11)
        #expect(socket.closeCode == 1009)
        #expect(harness.engine.sessionCount == 0)
    }

    @Test func aSessionEndedByItsOpenPacketIsNeverAnnounced() {
        let harness = Harness()
        let request = HTTPRequest(method: .get, path: harness.engine.configuration.path, query: QueryParameters("EIO=4&transport=websocket"))
        #expect(harness.engine.open(request, on: FailingTransport()))
        #expect(harness.delegate.opened.isEmpty)
        #expect(harness.delegate.closed.map(\.1) == [.transportError])
        #expect(harness.engine.sessionCount == 0)
    }

    @Test func closedSessionSendsNothingMore() {
        let harness = Harness()
        let socket = harness.engine.connectInMemory()
        socket.clientSends("1")
        _ = socket.takeFrames()
        harness.clock.advance(by: 10_000)
        #expect(socket.takeFrames().isEmpty)
    }
}

@Suite struct HandshakeRefusalTests {
    @Test(arguments: [
        ("EIO=4", 0, "Transport unknown"),
        ("EIO=4&transport=carrier-pigeon", 0, "Transport unknown"),
        ("transport=polling", 5, "Unsupported protocol version"),
        ("EIO=3&transport=polling", 5, "Unsupported protocol version"),
        ("EIO=4&transport=polling&sid=nope", 1, "Session ID unknown"),
    ])
    func badQueriesGet400WithTheReferenceCodes(query: String, code: Int, message: String) {
        let harness = Harness()
        let responder = harness.engine.requestInMemory(.get, query: query)
        #expect(responder.status == 400)
        #expect(responder.body == "{\"code\":\(code),\"message\":\"\(message)\"}")
    }

    @Test func handshakeMustBeAGet() {
        let harness = Harness()
        #expect(harness.engine.requestInMemory(.post, query: "EIO=4&transport=polling").body == "{\"code\":2,\"message\":\"Bad handshake method\"}")
        #expect(harness.engine.requestInMemory(.other("PUT"), query: "EIO=4&transport=polling").status == 400)
    }

    @Test func originsOutsideTheListAreRefusedOnBothTransports() {
        let harness = Harness(cors: .origins(["https://good.example"]))
        let refused = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling", origin: "https://bad.example")
        #expect(refused.status == 400)
        #expect(refused.body?.contains("Not an accepted origin.") == true)
        let request = HTTPRequest(method: .get, path: "/socket.io/", query: QueryParameters("EIO=4&transport=websocket"), origin: "https://bad.example")
        #expect(harness.engine.refusalForWebSocket(request)?.code == 4)
        let allowed = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling", origin: "https://good.example")
        #expect(allowed.status == 200)
        #expect(allowed.response?.headers.contains(HTTPHeader("Access-Control-Allow-Origin", "https://good.example")) == true)
        #expect(harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling").status == 200)
    }

    @Test func preflightAnswers204WithTheRequestedHeaders() {
        let harness = Harness()
        let responder = RecordingResponder()
        let request = HTTPRequest(
            method: .options, path: "/socket.io/", query: QueryParameters("EIO=4&transport=polling"), origin: "https://a.example",
            requestedHeaders: "content-type")
        harness.engine.handle(request, responder: responder, onAbandon: { _ in })
        #expect(responder.status == 204)
        let headers = responder.response?.headers ?? []
        #expect(headers.contains(HTTPHeader("Access-Control-Allow-Methods", "GET, POST, OPTIONS")))
        #expect(headers.contains(HTTPHeader("Access-Control-Allow-Headers", "content-type")))
        #expect(headers.contains(HTTPHeader("Access-Control-Allow-Origin", "https://a.example")))
    }
}
