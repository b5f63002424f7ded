#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import EngineIO
import QuenchApp
import QuenchLWS
import QuenchRedis

/// Every flag quench takes; each maps to one field of the configuration.
struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on (an IPv4 or IPv6 literal; 0.0.0.0 means every IPv4 interface).")
    var host = "0.0.0.0"

    @Option(help: "TCP port to listen on (1-65535).")
    var port = 5000

    @Option(
        name: .customLong("cors-origins"),
        help: ArgumentHelp(
            "Browser origins allowed to connect: '*' for any, or a comma-separated list such as https://app.example.com,http://localhost:3000.",
            valueName: "origins"))
    var corsOrigins = "*"

    @Option(
        help: ArgumentHelp(
            "Send every client a hydration reminder at each wall-clock multiple of this duration (120s = every even minute); 0 turns reminders off.",
            valueName: "duration"))
    var reminderInterval = DurationArgument(milliseconds: 120_000)

    @Option(help: ArgumentHelp("How often the server pings each client.", valueName: "duration"))
    var pingInterval = DurationArgument(milliseconds: 25_000)

    @Option(help: ArgumentHelp("How long a client has to answer a ping before it is dropped.", valueName: "duration"))
    var pingTimeout = DurationArgument(milliseconds: 20_000)

    @Option(help: ArgumentHelp("Largest message or polling request body a client may send, in bytes.", valueName: "bytes"))
    var maxPayload = 1_000_000

    @Option(help: ArgumentHelp("URL path Socket.IO clients connect to.", valueName: "path"))
    var path = "/socket.io/"

    @Option(help: ArgumentHelp("PEM certificate (chain) for https:// and wss:// on the same port; needs --tls-key.", valueName: "file"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("PEM private key matching --tls-cert.", valueName: "file"))
    var tlsKey: String?

    @Option(
        name: .customLong("static"),
        help: ArgumentHelp("Serve the files of this directory at / (your own front end) instead of the built-in chat page.", valueName: "dir"))
    var staticDirectory: String?

    @Option(
        help: ArgumentHelp(
            "Join a Redis message queue shared with other quench nodes and python-socketio servers or emitters (RedisManager); emits to rooms or to everyone reach every node's clients.",
            valueName: "redis://[:password@]host[:port][/db]"))
    var messageQueue: String?

    @Option(help: ArgumentHelp("Pub/sub channel on --message-queue; must match the other nodes' (python-socketio's default).", valueName: "name"))
    var channel = "socketio"

    @Option(help: ArgumentHelp("How much to log to standard error: error, warn, info or debug.", valueName: "level"))
    var logLevel = LogLevelArgument(level: .info)

    mutating func validate() throws {
        guard host == "localhost" || Self.isAddressLiteral(host) else {
            throw ValidationError("--host must be an IPv4 or IPv6 address (or localhost), not '\(host)'")
        }
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535, not \(port)") }
        guard maxPayload > 0 else { throw ValidationError("--max-payload must be a positive number of bytes, not \(maxPayload)") }
        guard pingInterval.milliseconds > 0 else { throw ValidationError("--ping-interval must be longer than 0") }
        guard pingTimeout.milliseconds > 0 else { throw ValidationError("--ping-timeout must be longer than 0") }
        guard reminderInterval.milliseconds == 0 || reminderInterval.milliseconds >= 1000,
            reminderInterval.milliseconds % 1000 == 0
        else { throw ValidationError("--reminder-interval must be 0 or a whole number of seconds (e.g. 120, 2m)") }
        guard CORSPolicy(parsing: corsOrigins) != nil else {
            throw ValidationError("--cors-origins must be '*' or a comma-separated list of origins")
        }
        switch (tlsCert, tlsKey) {
        case (.some, .none): throw ValidationError("--tls-cert needs --tls-key (the certificate's private key)")
        case (.none, .some): throw ValidationError("--tls-key needs --tls-cert (the certificate it belongs to)")
        default: break
        }
        if let staticDirectory {
            var info = stat()
            guard stat(staticDirectory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                throw ValidationError("--static \(staticDirectory) is not a directory")
            }
        }
        if let messageQueue {
            do {
                _ = try RedisURL(parsing: messageQueue)
            } catch {
                throw ValidationError("--message-queue: \(error)")
            }
        }
        guard !channel.isEmpty, !channel.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw ValidationError("--channel must be a non-empty name without spaces, not '\(channel)'")
        }
        guard path.hasPrefix("/"), !path.contains("?"), !path.contains(" ") else {
            throw ValidationError("--path must be a URL path starting with '/', such as /socket.io/")
        }
    }

    private static func isAddressLiteral(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// The certificate and key, when TLS was asked for.
    var tls: TLSFiles? {
        guard let tlsCert, let tlsKey else { return nil }
        return TLSFiles(certificate: tlsCert, privateKey: tlsKey)
    }

    /// The Redis server of --message-queue, when one was given (validated in `validate()`).
    var messageQueueURL: RedisURL? { messageQueue.flatMap { try? RedisURL(parsing: $0) } }

    /// The Engine.IO settings these flags describe.
    var engineConfiguration: EngineConfiguration {
        EngineConfiguration(
            pingInterval: pingInterval.milliseconds, pingTimeout: pingTimeout.milliseconds, maxPayload: maxPayload,
            path: path, cors: CORSPolicy(parsing: corsOrigins) ?? .anyOrigin)
    }
}

/// A duration flag's value (`25`, `500ms`, `30s`, `2m`).
struct DurationArgument: ExpressibleByArgument {
    let milliseconds: Int64

    init(milliseconds: Int64) { self.milliseconds = milliseconds }

    init?(argument: String) {
        guard let value = DurationText.milliseconds(from: argument) else { return nil }
        milliseconds = value
    }

    var defaultValueDescription: String {
        milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }
}

/// A `--log-level` value: one of the level names.
struct LogLevelArgument: ExpressibleByArgument {
    let level: LogLevel

    init(level: LogLevel) { self.level = level }

    init?(argument: String) {
        guard let level = LogLevel.allCases.first(where: { $0.name == argument }) else { return nil }
        self.level = level
    }

    var defaultValueDescription: String { level.name }
    static var allValueStrings: [String] { LogLevel.allCases.map(\.name) }
}
