import EngineIO
import EngineIOTesting
import QuenchSystem
import Testing

@testable import SocketIO

/// A Socket.IO server over in-memory WebSockets with a hand-moved clock, namespaces `/` and `/custom`.
final class ServerHarness {
    let clock = ManualClock()
    let engine: EngineServer
    let server: SocketIOServer
    /// What the handlers saw, in order.
    final class Record {
        var connects: [(namespace: String, auth: JSONValue?)] = []
        var disconnects: [(namespace: String, reason: SocketDisconnectReason)] = []
        var events: [(namespace: String, name: String, arguments: [JSONValue])] = []
        var acks: [[JSONValue]] = []
    }
    let record = Record()
    /// The warn and error lines the server wrote.
    let logLines = LogLines()

    /// Ends the sessions a test left open: each one and its transport hold each other until it closes,
    /// so without this every test's engine would leak (AddressSanitizer's leak check reports it).
    deinit { engine.closeAll() }

    init(
        connectTimeout: Int64 = 1000, maxPayload: Int = 1_000_000, maxBuffered: Int = EngineConfiguration.defaultMaxBuffered,
        maxPendingAcks: Int = 100, budgets: ClientBudgetConfiguration = ClientBudgetConfiguration(), parser: SocketIOParser = .json,
        allowEIO3: Bool = false
    ) {
        engine = EngineServer(
            configuration: EngineConfiguration(
                pingInterval: 300, pingTimeout: 200, maxPayload: maxPayload, maxBuffered: maxBuffered, budgets: budgets,
                allowEIO3: allowEIO3),
            clock: clock,
            log: Logger(level: .warn, sink: { [logLines] in logLines.append($0) }))
        clock.engine = engine
        server = SocketIOServer(
            engine: engine, configuration: SocketIOConfiguration(connectTimeout: connectTimeout, maxPendingAcks: maxPendingAcks, parser: parser))
        for name in ["/", "/custom"] {
            let namespace = server.namespace(name)
            namespace.onConnect = { [record] socket in record.connects.append((name, socket.auth)) }
            namespace.onDisconnect = { [record] _, reason in record.disconnects.append((name, reason)) }
            namespace.onUnhandledEvent = { [record] _, event, arguments, ack in
                record.events.append((name, event, arguments))
                ack?(arguments)
            }
        }
    }

    /// The warn lines written so far that contain `text`.
    func warnings(containing text: String) -> [String] {
        logLines.all.filter { $0.hasPrefix("warn") && $0.contains(text) }
    }

    /// An Engine.IO client with its open packet already taken.
    func client() -> InMemoryWebSocket {
        let socket = engine.connectInMemory()
        _ = socket.takeFrames()
        return socket
    }
}

/// Collects log lines (the logger's sink may be called from any thread).
final class LogLines: Sendable {
    private let lines = Lock<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

@Suite struct NamespaceConnectTests {
    @Test func connectReplyComesFirstAndTheHandlerGetsTheAuthObject() throws {
        let harness = ServerHarness()
        harness.server.namespace("/").onConnect = { socket in socket.emit("auth", [socket.auth ?? .object([])]) }
        let client = harness.client()
        client.clientSends("40{\"token\":\"123\"}")
        let frames = client.takeFrames()
        #expect(frames.count == 2)
        #expect(frames.first?.hasPrefix("40{\"sid\":\"") == true)
        #expect(frames.last == "42[\"auth\",{\"token\":\"123\"}]")
    }

    @Test func customNamespaceWithAndWithoutTheTrailingComma() {
        let harness = ServerHarness()
        let client = harness.client()
        client.clientSends("40/custom,{\"token\":\"abc\"}")
        #expect(client.takeFrames().first?.hasPrefix("40/custom,{\"sid\":\"") == true)
        #expect(harness.record.connects.count == 1)
        #expect(harness.record.connects.first?.namespace == "/custom")
        #expect(harness.record.connects.first?.auth == ["token": "abc"])
        let other = harness.client()
        other.clientSends("40/custom")
        #expect(other.takeFrames().first?.hasPrefix("40/custom,{\"sid\":\"") == true)
        #expect(harness.record.connects.last?.auth == nil)
    }

    @Test func unknownNamespaceGetsConnectErrorAndTheConnectionStays() {
        let harness = ServerHarness()
        let client = harness.client()
        client.clientSends("40/random")
        #expect(client.takeFrames() == ["44/random,{\"message\":\"Invalid namespace\"}"])
        #expect(client.closeCode == nil)
        #expect(harness.engine.sessionCount == 1)
    }

    @Test func authorizeRefusalBecomesConnectErrorWithItsMessage() {
        let harness = ServerHarness()
        var seen: JSONValue?
        harness.server.namespace("/custom").authorize = { auth, _ in
            seen = auth
            return auth?["token"] == "good" ? nil : "Not authorized"
        }
        let client = harness.client()
        client.clientSends("40/custom,{\"token\":\"bad\"}")
        #expect(client.takeFrames() == ["44/custom,{\"message\":\"Not authorized\"}"])
        #expect(seen == ["token": "bad"])
        #expect(harness.server.namespace("/custom").sockets.isEmpty)
        client.clientSends("40/custom,{\"token\":\"good\"}")
        #expect(client.takeFrames().first?.hasPrefix("40/custom,{\"sid\":") == true)
        #expect(harness.server.namespace("/custom").sockets.count == 1)
    }

    @Test func severalNamespacesShareOneConnectionAndLeavingOneKeepsTheOther() {
        let harness = ServerHarness()
        let client = harness.client()
        client.clientSends("40")
        client.clientSends("40/custom,")
        _ = client.takeFrames()
        #expect(harness.server.namespace("/").sockets.count == 1)
        #expect(harness.server.namespace("/custom").sockets.count == 1)
        client.clientSends("41/custom,")
        #expect(harness.record.disconnects.map(\.namespace) == ["/custom"])
        #expect(harness.record.disconnects.first?.reason == .clientNamespaceDisconnect)
        #expect(harness.server.namespace("/custom").sockets.isEmpty)
        client.clientSends("42[\"still\",1]")
        client.clientSends("42/custom,[\"gone\"]")
        #expect(harness.record.events.map(\.name) == ["still"])
        #expect(client.closeCode == nil)
        client.clientSends("41")
        #expect(harness.engine.sessionCount == 1)
    }

    @Test func engineCloseDisconnectsEveryNamespaceWithTheEngineReason() {
        let harness = ServerHarness()
        let client = harness.client()
        client.clientSends("40")
        client.clientSends("40/custom,")
        client.clientDisconnects()
        #expect(harness.record.disconnects.map(\.namespace).sorted() == ["/", "/custom"])
        #expect(harness.record.disconnects.allSatisfy { $0.reason == .transportClose })
    }
}

@Suite struct ConnectTimeoutTests {
    @Test func connectionThatJoinsNoNamespaceIsClosed() {
        let harness = ServerHarness(connectTimeout: 1000)
        let client = harness.client()
        for _ in 0..<3 {
            harness.clock.advance(by: 300)
            client.clientSends("3")  // answer every ping: only the connectTimeout can close it
        }
        harness.clock.advance(by: 99)
        #expect(client.closeCode == nil)
        harness.clock.advance(by: 1)
        #expect(client.closeCode == 1000)
        #expect(harness.engine.sessionCount == 0)
        #expect(harness.record.disconnects.isEmpty)
    }

    @Test func joiningInTimeCancelsIt() {
        let harness = ServerHarness(connectTimeout: 1000)
        let client = harness.client()
        client.clientSends("40/random")  // a refused CONNECT does not count
        client.clientSends("40")
        for _ in 0..<10 {
            harness.clock.advance(by: 300)
            client.clientSends("3")
        }
        #expect(client.closeCode == nil)
        client.clientSends("41")  // leaving later does not bring the timeout back
        for _ in 0..<10 {
            harness.clock.advance(by: 300)
            client.clientSends("3")
        }
        #expect(client.closeCode == nil)
        #expect(harness.engine.sessionCount == 1)
    }

    @Test func refusedConnectsDoNotStopTheTimeout() {
        let harness = ServerHarness(connectTimeout: 500)
        let client = harness.client()
        client.clientSends("40/random")
        harness.clock.advance(by: 300)
        client.clientSends("3")
        harness.clock.advance(by: 200)
        #expect(client.closeCode == 1000)
    }

    @Test func defaultIsTheReferenceServers45Seconds() {
        #expect(SocketIOConfiguration().connectTimeout == 45_000)
    }
}

/// Transports hold their session strongly and the Socket.IO state hangs off the session: each way a
/// session ends must let go of all of it while the client side (socket, held request) is still around.
@Suite struct SessionLifetimeTests {
    private func openPollingSocketIO(_ harness: ServerHarness) -> String {
        let body = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling").body ?? ""
        let sid = String(body.dropFirst(9).prefix(20))
        harness.engine.requestInMemory(.post, query: "EIO=4&transport=polling&sid=\(sid)", body: "40")
        return sid
    }

    @Test func webSocketSessionsAreFreedWhoeverEndsThem() throws {
        let harness = ServerHarness()
        weak var endedByClient: EngineSession?
        weak var endedByServer: EngineSession?
        weak var socketIOState: AnyObject?
        let first = harness.client()
        let second = harness.client()
        do {
            first.clientSends("40")
            second.clientSends("40")
            let session = try #require(first.transport?.session)
            endedByClient = session
            socketIOState = session.context
            endedByServer = second.transport?.session
        }
        #expect(endedByClient != nil && socketIOState != nil && endedByServer != nil)
        first.clientDisconnects()
        endedByServer?.close()
        harness.clock.advance(by: 1000)  // the heartbeat heap drops closed sessions' entries at their deadline
        #expect(endedByClient == nil)
        #expect(socketIOState == nil)
        #expect(endedByServer == nil)
        #expect(harness.engine.sessionCount == 0)
    }

    @Test func aSessionEndedByItsOpenPacketIsFreed() {
        let harness = ServerHarness()
        weak var transport: FailingTransport?
        do {
            let failing = FailingTransport()
            let request = HTTPRequest(method: .get, path: harness.engine.configuration.path, query: QueryParameters("EIO=4&transport=websocket"))
            #expect(harness.engine.open(request, on: failing))
            transport = failing
        }
        harness.clock.advance(by: 2000)  // past the connectTimeout and the heartbeat's deadline
        #expect(transport == nil)
        #expect(harness.engine.sessionCount == 0)
    }

    @Test func pollingAndUpgradedSessionsAreFreed() throws {
        let harness = ServerHarness()
        weak var polling: EngineSession?
        weak var upgraded: EngineSession?
        let pollingSid = openPollingSocketIO(harness)
        let upgradedSid = openPollingSocketIO(harness)
        polling = harness.engine.session(id: pollingSid)
        upgraded = harness.engine.session(id: upgradedSid)
        let held = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(pollingSid)")
        _ = held.body
        let probe = harness.engine.connectInMemory(query: "EIO=4&transport=websocket&sid=\(upgradedSid)")
        probe.clientSends("2probe")
        probe.clientSends("5")
        #expect(upgraded?.transport.name == .websocket)
        harness.engine.requestInMemory(.post, query: "EIO=4&transport=polling&sid=\(pollingSid)", body: "1")
        probe.clientDisconnects()
        harness.clock.advance(by: 1000)
        #expect(polling == nil)
        #expect(upgraded == nil)
        #expect(harness.engine.sessionCount == 0)
    }
}

@Suite struct EventHandlerTests {
    @Test func registeringAnEventAgainReplacesItsHandler() {
        let harness = ServerHarness()
        var calls: [String] = []
        let namespace = harness.server.namespace("/")
        namespace.on("ping-me") { _, _, _ in calls.append("first") }
        namespace.on("other") { _, _, _ in calls.append("other") }
        namespace.on("ping-me") { _, _, _ in calls.append("second") }
        let client = harness.client()
        client.clientSends("40")
        client.clientSends("42[\"ping-me\"]")
        client.clientSends("42[\"other\"]")
        client.clientSends("42[\"unknown\"]")
        #expect(calls == ["second", "other"])
        #expect(harness.record.events.map(\.name) == ["unknown"])
    }

    @Test func eventsReachTheSocketOfTheirOwnNamespace() {
        let harness = ServerHarness()
        let client = harness.client()
        client.clientSends("40")
        client.clientSends("40/custom,")
        client.clientSends("42/custom,[\"a\"]")
        client.clientSends("42[\"b\"]")
        client.clientSends("41/custom,")
        client.clientSends("42/custom,[\"c\"]")
        #expect(harness.record.events.map { "\($0.namespace) \($0.name)" } == ["/custom a", "/ b"])
    }
}

@Suite struct BinaryTrafficTests {
    @Test func binaryEventIsReassembledFromTheFramesThatFollow() {
        let harness = ServerHarness()
        let client = harness.client()
        client.clientSends("40")
        client.clientSends("452-[\"message\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]")
        #expect(harness.record.events.isEmpty)
        client.clientSendsBinary([1, 2, 3])
        #expect(harness.record.events.isEmpty)
        client.clientSendsBinary([4, 5, 6])
        #expect(harness.record.events.first?.arguments == [.binary([1, 2, 3]), .binary([4, 5, 6])])
    }

    @Test func emitWithBinaryArgumentsSendsAttachments() throws {
        let harness = ServerHarness()
        harness.server.namespace("/custom").on("message") { socket, arguments, _ in socket.emit("message-back", arguments) }
        let client = harness.client()
        client.clientSends("40/custom,")
        _ = client.takeFrames()
        client.clientSends("451-/custom,[\"message\",{\"x\":{\"_placeholder\":true,\"num\":0}},\"text\"]")
        client.clientSendsBinary([0xde, 0xad])
        #expect(client.takeFrames() == [
            "451-/custom,[\"message-back\",{\"x\":{\"_placeholder\":true,\"num\":0}},\"text\"]",
            "<binary>de ad",
        ])
    }

    @Test func binaryAckKeepsTheAckIDAndTheAttachments() {
        let harness = ServerHarness()
        let client = harness.client()
        client.clientSends("40")
        _ = client.takeFrames()
        client.clientSends("452-789[\"message-with-ack\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]")
        client.clientSendsBinary([1, 2, 3])
        client.clientSendsBinary([4, 5, 6])
        #expect(client.takeFrames() == [
            "462-789[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
            "<binary>1 2 3",
            "<binary>4 5 6",
        ])
    }

    @Test func clientBinaryAckReachesTheEmitCallback() throws {
        let harness = ServerHarness()
        var acked: [JSONValue]?
        harness.server.namespace("/").onConnect = { socket in
            socket.emit("question", [.binary([9])]) { acked = $0 }
        }
        let client = harness.client()
        client.clientSends("40")
        let frames = client.takeFrames()
        #expect(frames.dropFirst().first == "451-0[\"question\",{\"_placeholder\":true,\"num\":0}]")
        #expect(frames.last == "<binary>9")
        client.clientSends("461-0[{\"_placeholder\":true,\"num\":0}]")
        #expect(acked == nil)
        client.clientSendsBinary([7, 7])
        #expect(acked == [.binary([7, 7])])
    }

    @Test func broadcastWithBinaryReachesEverySocket() {
        let harness = ServerHarness()
        let first = harness.client()
        let second = harness.client()
        first.clientSends("40")
        second.clientSends("40")
        _ = first.takeFrames()
        _ = second.takeFrames()
        harness.server.namespace("/").emit("blob", [.binary([1])])
        for client in [first, second] {
            #expect(client.takeFrames() == ["451-[\"blob\",{\"_placeholder\":true,\"num\":0}]", "<binary>1"])
        }
    }
}

@Suite struct InvalidInputTests {
    @Test(arguments: [
        "4abc",  // unknown packet type
        "42{}",  // event payload not an array
        "42[1,2]",  // event name not a string
        "42[]",  // no event name
        "42abc[\"message\"]",  // ack id not a number
        "421234567890123456[\"message\"]",  // ack id too long
        "42[\"message\"",  // bad JSON
        "40\"token\"",  // CONNECT data not an object
        "43[1]",  // ack without an id
        "451-[\"message\"]",  // one attachment declared, no placeholder
        "451-[\"m\",{\"_placeholder\":true,\"num\":1}]",  // placeholder out of range
        "44{\"message\":\"x\"}",  // a client may not send CONNECT_ERROR
    ])
    func closesTheConnection(frame: String) {
        let harness = ServerHarness()
        let client = harness.client()
        client.clientSends("40")
        client.clientSends(frame)
        #expect(client.closeCode != nil)
        #expect(harness.engine.sessionCount == 0)
        #expect(harness.record.disconnects.map(\.reason) == [.parseError])
    }

    @Test func binaryFrameWithNoBinaryPacketBeforeItClosesTheConnection() {
        let harness = ServerHarness()
        let client = harness.client()
        client.clientSends("40")
        client.clientSendsBinary([1])
        #expect(client.closeCode != nil)
    }

    @Test func textFrameWhileAttachmentsAreOwedClosesTheConnection() {
        let harness = ServerHarness()
        let client = harness.client()
        client.clientSends("40")
        client.clientSends("452-[\"m\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]")
        client.clientSendsBinary([1])
        client.clientSends("42[\"m\"]")
        #expect(client.closeCode != nil)
        #expect(harness.record.events.isEmpty)
    }
}

/// What one connection can make the server hold while a binary packet's attachments arrive.
@Suite struct BinaryReassemblyBoundTests {
    private func placeholders(_ count: Int) -> String {
        (0..<count).map { "{\"_placeholder\":true,\"num\":\($0)}" }.joined(separator: ",")
    }

    @Test func attachmentsUpToMaxPayloadTogetherAreAccepted() {
        let harness = ServerHarness(maxPayload: 1000)
        let client = harness.client()
        client.clientSends("40")
        client.clientSends("452-[\"m\",\(placeholders(2))]")
        client.clientSendsBinary([UInt8](repeating: 1, count: 600))
        client.clientSendsBinary([UInt8](repeating: 2, count: 400))
        #expect(client.closeCode == nil)
        #expect(harness.record.events.first?.arguments == [.binary([UInt8](repeating: 1, count: 600)), .binary([UInt8](repeating: 2, count: 400))])
    }

    @Test func attachmentsPastMaxPayloadTogetherCloseTheSessionWithOneWarning() {
        let harness = ServerHarness(maxPayload: 1000)
        let client = harness.client()
        client.clientSends("40")
        client.clientSends("453-[\"m\",\(placeholders(3))]")
        client.clientSendsBinary([UInt8](repeating: 1, count: 600))
        #expect(client.closeCode == nil)
        client.clientSendsBinary([UInt8](repeating: 2, count: 401))  // each frame alone is within maxPayload
        #expect(client.closeCode != nil)
        #expect(harness.engine.sessionCount == 0)
        #expect(harness.record.events.isEmpty)
        #expect(harness.record.disconnects.map(\.reason) == [.parseError])
        let warnings = harness.warnings(containing: "attachments too large")
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("1001 bytes (limit 1000)") == true)
    }

    @Test func aHeaderAnnouncingMoreThanTheAttachmentLimitIsRefusedAtOnce() {
        let harness = ServerHarness()
        let client = harness.client()
        client.clientSends("40")
        let count = SocketIOPacket.maxAttachments + 1
        client.clientSends("45\(count)-[\"m\",\(placeholders(count))]")
        #expect(client.closeCode != nil)
        #expect(harness.warnings(containing: "invalid attachment count").count == 1)
    }

    @Test func theAttachmentLimitItselfIsAccepted() {
        let harness = ServerHarness()
        let client = harness.client()
        client.clientSends("40")
        let count = SocketIOPacket.maxAttachments
        client.clientSends("45\(count)-[\"m\",\(placeholders(count))]")
        for index in 0..<count { client.clientSendsBinary([UInt8(index & 0xFF)]) }
        #expect(client.closeCode == nil)
        #expect(harness.record.events.first?.arguments.count == count)
    }

    @Test(arguments: [
        "451-/custom,[\"m\",{\"_placeholder\":true,\"num\":0}]",  // an event with an attachment
        "461-/custom,7[{\"_placeholder\":true,\"num\":0}]",  // an ack with an attachment
        "450-/custom,[\"m\"]",  // no attachment: refused all the same
    ])
    func aBinaryPacketForAnUnjoinedNamespaceIsRefusedAtItsHeader(header: String) {
        let harness = ServerHarness()
        let client = harness.client()
        client.clientSends("40")
        client.clientSends(header)
        // Closed before a single attachment was sent: nothing is held for a namespace the client is not in.
        #expect(client.closeCode != nil)
        #expect(harness.engine.sessionCount == 0)
        #expect(harness.record.disconnects.map(\.reason) == [.parseError])
        #expect(harness.warnings(containing: "binary packet for unjoined namespace /custom").count == 1)
    }

    @Test func theUnjoinedNamespaceIsEscapedInTheWarning() {
        let harness = ServerHarness()
        let client = harness.client()
        client.clientSends("40")
        client.clientSends("451-/x\nwarn forged,[\"m\",{\"_placeholder\":true,\"num\":0}]")
        #expect(client.closeCode != nil)
        let warnings = harness.warnings(containing: "unjoined namespace")
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("/x\\nwarn forged") == true)
    }
}
