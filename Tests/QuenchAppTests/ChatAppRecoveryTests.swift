import EngineIO
import EngineIOTesting
import SocketIO
import Testing

@testable import QuenchApp

/// The app on a Socket.IO server with connection state recovery on (5 s), over in-memory WebSockets.
private final class RecoveringAppHarness {
    let clock = ManualClock()
    let engine: EngineServer
    let socketIO: SocketIOServer
    let app: ChatApp

    /// Ends the sessions a test left open (each one and its transport hold each other until it closes).
    deinit { engine.closeAll() }

    init() {
        engine = EngineServer(configuration: EngineConfiguration(pingInterval: 300, pingTimeout: 200), clock: clock, log: Logger(level: .error))
        clock.engine = engine
        socketIO = SocketIOServer(engine: engine, configuration: SocketIOConfiguration(recoveryWindow: 5000))
        app = ChatApp(server: socketIO, clock: FixedClock(time: WallTime(nanoseconds: 0, hour: 9, minute: 5, second: 7, utcOffset: 0)))
    }
}

/// The app with connection state recovery on: a recovered session is a continuation.
@Suite struct ChatAppRecoveryTests {
    @Test func aRecoveredSessionKeepsItsRowAndIsNotWelcomedTwice() throws {
        let harness = RecoveringAppHarness()
        let (engine, app) = (harness.engine, harness.app)
        var wall = WallTime(nanoseconds: 0, hour: 9, minute: 5, second: 7, utcOffset: 0)

        let client = engine.connectInMemory()
        _ = client.takeFrames()
        client.clientSends("40")
        let frames = client.takeFrames()
        #expect(frames.count == 2)
        let connect = try SocketIOPacket.decode(Array(frames[0].utf8.dropFirst()))
        let welcome = try SocketIOPacket.decode(Array(frames[1].utf8.dropFirst()))
        #expect(welcome.eventName == "system_message")
        let sid = try #require(connect.data?["sid"]?.stringValue)
        let pid = try #require(connect.data?["pid"]?.stringValue)
        let offset = try #require(welcome.arguments.last?.stringValue)
        let row = try #require(app.sessions[sid])

        client.clientDisconnects()
        #expect(app.sessions.isEmpty)
        wall.minute = 6
        app.sendReminder(at: wall)

        let back = engine.connectInMemory()
        _ = back.takeFrames()
        back.clientSends("40{\"pid\":\"\(pid)\",\"offset\":\"\(offset)\"}")
        let again = back.takeFrames().compactMap { try? SocketIOPacket.decode(Array($0.utf8.dropFirst())) }
        #expect(again.first?.data?["sid"]?.stringValue == sid)
        // The reminder it missed, and no second welcome.
        #expect(again.compactMap(\.eventName) == ["bot_message"])
        #expect(app.sessions[sid] == row)
        #expect(app.sessions.count == 1)
    }
}
