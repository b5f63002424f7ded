import EngineIO
import EngineIOTesting
import QuenchApp
import SocketIO

/// The server quench runs (Engine.IO, Socket.IO and the chat app) over in-memory transports and a
/// hand-moved clock, so a fuzz input drives the same code a client's bytes reach, without sockets.
/// Short heartbeat and connect timeouts, so that moving the clock past them ends every session.
final class FuzzServer {
    let clock = ManualClock()
    let engine: EngineServer
    let socketIO: SocketIOServer
    let app: ChatApp

    /// - Parameters:
    ///   - recoveryWindow: connection state recovery's window in milliseconds; 0 turns it off.
    ///   - parser: the Socket.IO wire format; default JSON.
    ///   - allowEIO3: whether Engine.IO 3 clients are served; default false.
    init(recoveryWindow: Int64 = 0, parser: SocketIOParser = .json, allowEIO3: Bool = false) {
        engine = EngineServer(
            configuration: EngineConfiguration(pingInterval: 300, pingTimeout: 200, maxPayload: 100_000, allowEIO3: allowEIO3),
            clock: clock, log: Logger(level: .error, sink: { _ in }))
        clock.engine = engine
        socketIO = SocketIOServer(engine: engine, configuration: SocketIOConfiguration(
            connectTimeout: 1000, recoveryWindow: recoveryWindow, parser: parser))
        app = ChatApp(server: socketIO)
        // A second namespace whose handler acknowledges with what it got, binaries included.
        socketIO.namespace("/custom").onUnhandledEvent = { socket, event, arguments, ack in
            ack?(arguments)
            socket.emit(event, arguments)
        }
    }

    /// Moves time far past every heartbeat and connect deadline, then checks that nothing is left:
    /// every way a session can end must take it out of the engine's table and the app's.
    func expireEverything() {
        clock.advance(by: 10_000)
        Fuzz.check(engine.sessionCount == 0, "\(engine.sessionCount) engine sessions outlived their heartbeat")
        Fuzz.check(app.sessions.isEmpty, "\(app.sessions.count) app sessions outlived their engine session")
    }
}
