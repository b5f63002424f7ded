#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import EngineIO
import QuenchLWS
import QuenchSystem
import SocketIO

/// `quench-conformance`: the two servers the official Engine.IO and Socket.IO protocol test suites
/// expect, on one port. Built by `make`, never installed: it exists to prove the library against
/// github.com/socketio/engine.io-protocol and github.com/socketio/socket.io-protocol (`test-suite/`).
@main
struct QuenchConformance: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quench-conformance",
        abstract: "The servers the official Engine.IO v4 / Socket.IO v5 test suites run against.",
        discussion: """
            /engine.io/ is a bare Engine.IO echo server; /socket.io/ is a Socket.IO server with namespaces / and \
            /custom (emits auth on connect, message → message-back, message-with-ack → ack). Both use \
            pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1000000 and CORS *; Socket.IO's connectTimeout \
            is 1000 ms.
            """)

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "TCP port to listen on (the suites use 3000).")
    var port = 3000

    @Option(help: ArgumentHelp("How much to log to standard error: error, warn, info or debug.", valueName: "level"))
    var logLevel = "info"

    /// The suites' engine settings, mounted at `path`.
    static func engineConfiguration(path: String) -> EngineConfiguration {
        EngineConfiguration(pingInterval: 300, pingTimeout: 200, maxPayload: 1_000_000, path: path, cors: .anyOrigin)
    }

    /// The suites' connectTimeout.
    static let socketIOConfiguration = SocketIOConfiguration(connectTimeout: 1000)

    mutating func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535, not \(port)") }
        guard LogLevel.allCases.contains(where: { $0.name == logLevel }) else {
            throw ValidationError("--log-level must be error, warn, info or debug, not \(logLevel)")
        }
    }

    func run() throws {
        let level = LogLevel.allCases.first { $0.name == logLevel } ?? .info
        let log = Logger(level: level)
        TerminationSignals.block()
        signal(SIGPIPE, SIG_IGN)

        let server = LWSServer(configuration: LWSServerConfiguration(host: host, port: port, log: log))
        let echo = EchoApp(engine: server.addEngine(configuration: Self.engineConfiguration(path: "/engine.io/")))
        let socketIO = SocketIOServer(
            engine: server.addEngine(configuration: Self.engineConfiguration(path: "/socket.io/")),
            configuration: Self.socketIOConfiguration)
        ConformanceApp.install(on: socketIO, namespaces: ["/", "/custom"])
        server.willStop = { socketIO.disconnectAll() }
        do {
            try server.start()
        } catch {
            log.error("\(error)")
            throw ExitCode.failure
        }

        TerminationSignals.onSignal { server.requestStop() }
        server.run()
        withExtendedLifetime(echo) {}
    }
}
