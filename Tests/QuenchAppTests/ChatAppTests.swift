import EngineIO
import EngineIOTesting
import QuenchSystem
import SocketIO
import Testing

@testable import QuenchApp

/// A wall clock stuck at a chosen local time.
struct FixedClock: WallClock {
    var time: WallTime
    func now() -> WallTime { time }
    func time(atNanoseconds nanoseconds: Int64) -> WallTime { time }
}

/// The app on a real Socket.IO and Engine.IO stack, over in-memory WebSockets.
final class AppHarness {
    let clock = ManualClock()
    let engine: EngineServer
    let socketIO: SocketIOServer
    let app: ChatApp

    /// Ends the sessions a test left open: each one and its transport hold each other until it closes,
    /// so without this every test's engine would leak (AddressSanitizer's leak check reports it).
    deinit { engine.closeAll() }

    init(at time: WallTime = WallTime(nanoseconds: 0, hour: 9, minute: 5, second: 7, utcOffset: 0)) {
        engine = EngineServer(configuration: EngineConfiguration(pingInterval: 300, pingTimeout: 200), clock: clock, log: Logger(level: .error))
        clock.engine = engine
        socketIO = SocketIOServer(engine: engine)
        app = ChatApp(server: socketIO, clock: FixedClock(time: time))
    }

    /// Connects a client to `/` and returns it with the frames it has received so far dropped.
    func connectedClient() -> InMemoryWebSocket {
        let client = engine.connectInMemory()
        client.clientSends("40")
        _ = client.takeFrames()
        return client
    }
}

@Suite struct ChatAppTests {
    @Test func connectRepliesFirstThenWelcomes() throws {
        let harness = AppHarness()
        let client = harness.engine.connectInMemory()
        _ = client.takeFrames()
        client.clientSends("40")
        let frames = client.takeFrames()
        #expect(frames.count == 2)
        #expect(frames[0].hasPrefix("40{\"sid\":\""))
        #expect(frames[1] == "42[\"system_message\",{\"text\":\"Connected to server\"}]")
        #expect(harness.app.sessions.count == 1)
    }

    @Test func userMessageGetsTheDummyReplyWithLocalTime() {
        let harness = AppHarness()
        let client = harness.connectedClient()
        client.clientSends("42[\"user_message\",{\"text\":\"hi\"}]")
        #expect(client.takeFrames() == ["42[\"bot_message\",{\"text\":\"hi rcvd at 09:05:07 (dummy reply)\"}]"])
    }

    @Test(arguments: ["", "é 💧 日本", String(repeating: "long text ", count: 40)])
    func replyKeepsAnyTextWhole(text: String) {
        let time = WallTime(nanoseconds: 0, hour: 23, minute: 0, second: 59, utcOffset: 0)
        #expect(UserMessage.reply(to: text, at: time) == text + " rcvd at 23:00:59 (dummy reply)")
        #expect(time.hoursMinutes == "23:00")
        #expect(time.hoursMinutesSeconds == "23:00:59")
    }

    @Test func ackIsSentAfterTheReply() {
        let harness = AppHarness()
        let client = harness.connectedClient()
        client.clientSends("427[\"user_message\",{\"text\":\"hi\"}]")
        #expect(client.takeFrames() == ["42[\"bot_message\",{\"text\":\"hi rcvd at 09:05:07 (dummy reply)\"}]", "437[]"])
    }

    @Test(arguments: [
        ("{\"text\":42}", "42"), ("{\"text\":true}", "true"), ("{\"text\":-1.5}", "-1.5"),
        ("{\"text\":\"quote \\\" é\"}", "quote \\\" é"),
    ])
    func nonStringTextIsWrittenAsJSON(payload: String, echoed: String) {
        let harness = AppHarness()
        let client = harness.connectedClient()
        client.clientSends("42[\"user_message\",\(payload)]")
        #expect(client.takeFrames() == ["42[\"bot_message\",{\"text\":\"\(echoed) rcvd at 09:05:07 (dummy reply)\"}]"])
    }

    @Test(arguments: ["{}", "\"hello\"", "{\"text\":null}", "{\"text\":{\"a\":1}}", "[1]"])
    func unusablePayloadGetsASystemMessageAndTheConnectionStays(payload: String) throws {
        let harness = AppHarness()
        let client = harness.connectedClient()
        client.clientSends("42[\"user_message\",\(payload)]")
        let frames = client.takeFrames()
        let frame = try #require(frames.first)
        #expect(frame.hasPrefix("42[\"system_message\",{\"text\":\"user_message needs"))
        #expect(client.closeCode == nil)
        client.clientSends("42[\"user_message\",{\"text\":\"ok\"}]")
        #expect(client.takeFrames().first?.contains("ok rcvd at") == true)
    }

    @Test func disconnectsEmptyTheTableWhateverTheCause() {
        let harness = AppHarness()
        let leaving = harness.connectedClient()
        let dropped = harness.connectedClient()
        let silent = harness.connectedClient()
        #expect(harness.app.sessions.count == 3)
        leaving.clientSends("41")
        #expect(leaving.closeCode == nil)  // leaving the namespace keeps the Engine.IO connection
        #expect(harness.app.sessions.count == 2)
        dropped.clientDisconnects()
        silent.clientSends("3")  // stray pong: ignored
        harness.clock.advance(by: 500)  // no pong for the ping: timed out
        #expect(harness.app.sessions.isEmpty)
        #expect(harness.engine.sessionCount == 0)
    }

    @Test func reminderReachesEveryConnectedClient() {
        let harness = AppHarness()
        let clients = (0..<3).map { _ in harness.connectedClient() }
        harness.app.sendReminder(at: WallTime(nanoseconds: 0, hour: 14, minute: 0, second: 0, utcOffset: 0))
        for client in clients {
            #expect(client.takeFrames() == ["42[\"bot_message\",{\"text\":\"Remember to stay hydrated! It's 14:00\"}]"])
        }
    }

    @Test func unknownNamespaceIsRefusedWithInvalidNamespace() {
        let harness = AppHarness()
        let client = harness.engine.connectInMemory()
        _ = client.takeFrames()
        client.clientSends("40/nope,")
        #expect(client.takeFrames() == ["44/nope,{\"message\":\"Invalid namespace\"}"])
        #expect(harness.app.sessions.isEmpty)
    }

    @Test(arguments: ["42{\"a\":1}", "42[1]", "4x", "42[\"user_message\"", "9"])
    func malformedSocketIOPacketsCloseTheConnection(frame: String) {
        let harness = AppHarness()
        let client = harness.connectedClient()
        client.clientSends(frame)
        #expect(client.closeCode != nil)
        #expect(harness.app.sessions.isEmpty)
    }
}
