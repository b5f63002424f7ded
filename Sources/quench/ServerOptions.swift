#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import EngineIO
import QuenchMessageQueue
import QuenchApp
import QuenchLWS
import QuenchRedis
import SocketIO

/// Every flag quench takes; each maps to one field of the configuration.
struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on (an IPv4 or IPv6 literal, or localhost; 0.0.0.0 means every IPv4 interface).")
    var host = "0.0.0.0"

    @Option(help: "TCP port to listen on (1-65535).")
    var port = 5000

    @Flag(
        help: ArgumentHelp(
            "Listen with SO_REUSEPORT: several quench processes (with the same --message-queue) may listen on the same address and port, and the kernel spreads connections among them."))
    var reusePort = false

    @Option(
        name: .customLong("cors-origins"),
        help: ArgumentHelp(
            "Browser origins allowed to connect: '*' for any, or a comma-separated list such as https://app.example.com,http://localhost:3000.",
            valueName: "origins"))
    var corsOrigins = "*"

    @Option(
        help: ArgumentHelp(
            "Send every client a hydration reminder at each wall-clock multiple of this duration (120s = every even minute): whole seconds, 1s to 24h; 0 turns reminders off.",
            valueName: "duration"))
    var reminderInterval = DurationArgument(milliseconds: 120_000)

    @Option(help: ArgumentHelp("How often the server pings each client (1ms to 24h).", valueName: "duration"))
    var pingInterval = DurationArgument(milliseconds: 25_000)

    @Option(help: ArgumentHelp("How long a client has to answer a ping before it is dropped (1ms to 24h).", valueName: "duration"))
    var pingTimeout = DurationArgument(milliseconds: 20_000)

    @Option(help: ArgumentHelp("Largest message or polling request body a client may send, in bytes (1 to 1000000000).", valueName: "bytes"))
    var maxPayload = 1_000_000

    @Option(
        help: ArgumentHelp(
            "Most bytes queued for one client that has not taken them (a client that stops reading); past it its session is closed. From --max-payload to 4294967296 (default: 16777216, or --max-payload if larger).",
            valueName: "bytes"))
    var maxBuffered: Int?

    /// `--max-buffered`, or its default: 16 MiB, raised to `--max-payload` when that is larger.
    var effectiveMaxBuffered: Int { maxBuffered ?? max(EngineConfiguration.defaultMaxBuffered, maxPayload) }

    @Option(
        help: ArgumentHelp(
            "Most bytes queued for all clients together; at it, the clients holding the most unread bytes are closed first. From --max-buffered to 1099511627776 (default: a quarter of physical memory or of the cgroup's memory.max if smaller, at least 268435456 and at most 17179869184, and at least --max-buffered).",
            valueName: "bytes"))
    var maxBufferedTotal: Int?

    /// `--max-buffered-total`, or its default sized to the machine (``PhysicalMemory``).
    var effectiveMaxBufferedTotal: Int {
        maxBufferedTotal ?? PhysicalMemory.defaultMaxBufferedTotal(maxBuffered: effectiveMaxBuffered)
    }

    @Option(
        help: ArgumentHelp(
            "URL path Socket.IO clients connect to: starts with /, at most 128 bytes of letters, digits and -._~!$&'()*+,;=:@/ (no // or dot segments).",
            valueName: "path"))
    var path = "/socket.io/"

    @Option(help: ArgumentHelp("PEM certificate (chain) for https:// and wss:// on the same port; needs --tls-key.", valueName: "file"), completion: .file())
    var tlsCert: String?

    @Option(help: ArgumentHelp("PEM private key matching --tls-cert.", valueName: "file"), completion: .file())
    var tlsKey: String?

    @Option(
        name: .customLong("static"),
        help: ArgumentHelp("Serve the files of this directory at / (your own front end) instead of the built-in chat page.", valueName: "dir"),
        completion: .directory)
    var staticDirectory: String?

    @Option(
        help: ArgumentHelp(
            "Join a message queue shared with other quench nodes and python-socketio servers or emitters; emits to rooms or to everyone reach every node's clients. The scheme picks the broker: redis[s]://[[user][:password]@]host[:port][/db] is Redis (RedisManager); amqp[s]://[user[:password]@]host[:port][/vhost] is RabbitMQ (KombuManager, AsyncAioPikaManager), with --channel naming the fanout exchange; --recovery-window needs Redis.",
            valueName: "url"))
    var messageQueue: String?

    @Option(
        help: ArgumentHelp(
            "File holding the Redis or RabbitMQ password for --message-queue (one trailing newline is ignored), so that it is not on the command line where ps shows it; QUENCH_MESSAGE_QUEUE_PASSWORD in the environment does the same. The URL then has no password (a user name may stay: redis://user@host, amqp://user@host).",
            valueName: "file"),
        completion: .file())
    var messageQueuePasswordFile: String?

    @Option(
        help: ArgumentHelp(
            "With a rediss:// or amqps:// --message-queue: PEM file of the CA certificates that signed the broker's certificate (default: the system's CA store).",
            valueName: "file"),
        completion: .file())
    var messageQueueCa: String?

    @Option(
        name: .customLong("message-queue-tls-host"),
        help: ArgumentHelp(
            "With a rediss:// or amqps:// --message-queue: the name the broker's certificate must carry (and SNI with rediss://), when the URL's host is not it, such as an IP address (default: the URL's host).",
            valueName: "name"))
    var messageQueueTLSHost: String?

    @Option(
        help: ArgumentHelp(
            "Pub/sub channel on --message-queue (with amqp://, the fanout exchange's name); must match the other nodes' (python-socketio's default). 1 to 256 bytes (232 with amqp://, not starting amq.), no spaces or control characters.",
            valueName: "name"))
    var channel = "socketio"

    @Option(
        help: ArgumentHelp(
            "With --message-queue: listen here for the other quench nodes and send them node-to-node messages (requests passed on to the node holding a session, session moves) directly over TCP instead of through the broker, which stays the fallback. HOST:PORT, [IPv6]:PORT, or a name resolved once at start; the address is announced on the channel, so not 0.0.0.0 or ::. Plain TCP with a token announced on the channel: keep it on the private network between the nodes. Off by default.",
            valueName: "host:port"))
    var nodeLink: String?

    @Option(
        help: ArgumentHelp(
            "On SIGTERM/SIGINT, keep serving this long with /healthz answering 503, so a load balancer stops sending clients here before they are disconnected (0 to 5m).",
            valueName: "duration"))
    var drainTime = DurationArgument(milliseconds: 0)

    @Option(
        help: ArgumentHelp(
            "The open-files limit quench sets itself at start (capped by the hard limit): every client is a descriptor, and libwebsockets 4.1 scans a table of this many on each connection close, so a limit far above what is needed costs CPU. 256 to 1048576 (default: 65536).",
            valueName: "count"))
    var maxOpenFiles: Int?

    @Flag(
        help: ArgumentHelp(
            "Serve Prometheus metrics at /metrics on the same port (off by default: anyone who can reach the port could read them)."))
    var metrics = false

    @Option(
        help: ArgumentHelp(
            "Transports clients may use, comma-separated: polling, websocket or both (a polling session upgrades to WebSocket only if both are offered).",
            valueName: "list"))
    var transports = "polling,websocket"

    @Flag(
        name: .customLong("allow-eio3"),
        help: ArgumentHelp(
            "Also serve Engine.IO 3 / Socket.IO 2 clients (EIO=3: socket.io-client 2.x, socket.io-client-java 1.x, python-socketio 4.x), beside v4 ones; off, such a client gets HTTP 400."))
    var allowEIO3 = false

    @Option(
        help: ArgumentHelp(
            "How Socket.IO packets are written: json (socket.io-parser's text, the default) or msgpack (socket.io-msgpack-parser, python-socketio's serializer='msgpack': each packet one binary message); every client must use the same.",
            valueName: "name"),
        completion: .list(SocketIOParser.allCases.map(\.rawValue)))
    var parser = SocketIOParser.json

    @Option(
        help: ArgumentHelp(
            "Connection state recovery (socket.io-client 4.6+): a client that drops keeps its sid and rooms and gets the messages it missed if it is back within this long (0 to 24h; 0, the default, turns it off). When on, every event without an ack carries an offset as its last argument, which python-socketio clients see as an extra argument.",
            valueName: "duration"))
    var recoveryWindow = DurationArgument(milliseconds: 0)

    @Option(
        help: ArgumentHelp(
            "With --recovery-window, the most bytes of sent messages kept for clients that drop, per namespace; the oldest go first, and a client that missed one of those gets a new session (65536 to 4294967296).",
            valueName: "bytes"))
    var recoveryLogBytes = SocketIOConfiguration.defaultRecoveryLogBytes

    @Option(
        help: ArgumentHelp(
            "Most Engine.IO sessions one client address may hold open at once (an IPv6 address counts by its /64); past it its handshakes get HTTP 429 (1 to 1000000).",
            valueName: "count"))
    var maxSessionsPerAddress = AddressLimitConfiguration.defaultMaxSessions

    @Option(
        help: ArgumentHelp(
            "Handshakes per second one client address gets once its --handshake-burst is spent; past it they get HTTP 429 (1 to 1000000).",
            valueName: "per-second"))
    var handshakeRate = AddressLimitConfiguration.defaultHandshakesPerSecond

    @Option(
        help: ArgumentHelp("Handshakes one client address may make at once before --handshake-rate applies (1 to 1000000).", valueName: "count"))
    var handshakeBurst = AddressLimitConfiguration.defaultHandshakeBurst

    @Option(
        help: ArgumentHelp(
            "Socket.IO events per second one socket gets once its --event-burst is spent; past it its events are dropped and the client is told in a system_message, at most once a second (1 to 1000000).",
            valueName: "per-second"))
    var eventRate = ClientBudgetConfiguration.defaultEvents.perSecond

    @Option(help: ArgumentHelp("Events one socket may send at once before --event-rate applies (1 to 1000000).", valueName: "count"))
    var eventBurst = ClientBudgetConfiguration.defaultEvents.burst

    @Option(
        help: ArgumentHelp(
            "Namespace CONNECTs per second one Engine.IO session gets once its --namespace-burst is spent; past it they get CONNECT_ERROR (1 to 1000000).",
            valueName: "per-second"))
    var namespaceRate = ClientBudgetConfiguration.defaultNamespaceCycles.perSecond

    @Option(help: ArgumentHelp("Namespace CONNECTs one session may send at once before --namespace-rate applies (1 to 1000000).", valueName: "count"))
    var namespaceBurst = ClientBudgetConfiguration.defaultNamespaceCycles.burst

    @Option(
        help: ArgumentHelp(
            "Engine.IO pong and noop packets per second one session gets once its --ping-burst is spent; past it they are dropped (1 to 1000000).",
            valueName: "per-second"))
    var pingRate = ClientBudgetConfiguration.defaultPings.perSecond

    @Option(help: ArgumentHelp("Pongs and noops one session may send at once before --ping-rate applies (1 to 1000000).", valueName: "count"))
    var pingBurst = ClientBudgetConfiguration.defaultPings.burst

    @Option(
        help: ArgumentHelp(
            "How long a client may go on over --event-rate, --namespace-rate or --ping-rate (refused again within each second) before it is disconnected (1s to 1h).",
            valueName: "duration"))
    var overBudgetTime = DurationArgument(milliseconds: ClientBudgetConfiguration.defaultDisconnectAfter)

    @Option(
        help: ArgumentHelp(
            "Proxies (load balancers) whose X-Forwarded-For or Forwarded header names the client, as comma-separated CIDRs such as 10.0.0.0/8,fd00::/8: per-address limits and logs then use the right-most address in it that is not one of these (default: none; the headers are ignored).",
            valueName: "cidrs"))
    var trustedProxies: String?

    @Option(
        help: ArgumentHelp("How much to log to standard error: error, warn, info or debug.", valueName: "level"),
        completion: .list(LogLevel.allCases.map(\.name)))
    var logLevel = LogLevelArgument(level: .info)

    mutating func validate() throws {
        guard host == "localhost" || Self.isAddressLiteral(host) else {
            throw ValidationError("--host must be an IPv4 or IPv6 address (or localhost), not '\(host)'")
        }
        guard OptionRanges.port.contains(port) else { throw ValidationError("--port must be between 1 and 65535, not \(port)") }
        guard OptionRanges.maxPayloadBytes.contains(maxPayload) else {
            throw ValidationError("--max-payload must be between 1 and 1000000000 bytes, not \(maxPayload)")
        }
        if let maxBuffered, !(maxPayload...(1 << 32)).contains(maxBuffered) {
            throw ValidationError("--max-buffered must be between --max-payload (\(maxPayload)) and 4294967296 bytes, not \(maxBuffered)")
        }
        if let maxBufferedTotal, !(effectiveMaxBuffered...(1 << 40)).contains(maxBufferedTotal) {
            throw ValidationError(
                "--max-buffered-total must be between --max-buffered (\(effectiveMaxBuffered)) and 1099511627776 bytes, not \(maxBufferedTotal)")
        }
        try Self.check(pingInterval, in: OptionRanges.heartbeatMilliseconds, flag: "--ping-interval")
        try Self.check(pingTimeout, in: OptionRanges.heartbeatMilliseconds, flag: "--ping-timeout")
        try Self.check(drainTime, in: OptionRanges.drainMilliseconds, flag: "--drain-time")
        if let maxOpenFiles, !OptionRanges.maxOpenFiles.contains(maxOpenFiles) {
            throw ValidationError("--max-open-files must be between 256 and 1048576, not \(maxOpenFiles)")
        }
        try Self.check(recoveryWindow, in: OptionRanges.recoveryWindowMilliseconds, flag: "--recovery-window")
        try Self.check(overBudgetTime, in: OptionRanges.overBudgetMilliseconds, flag: "--over-budget-time")
        guard OptionRanges.recoveryLogBytes.contains(recoveryLogBytes) else {
            throw ValidationError("--recovery-log-bytes must be between 65536 and 4294967296 bytes, not \(recoveryLogBytes)")
        }
        if reminderInterval.milliseconds != 0 {
            guard reminderInterval.milliseconds % 1000 == 0,
                OptionRanges.reminderSeconds.contains(reminderInterval.milliseconds / 1000)
            else {
                throw ValidationError(
                    "--reminder-interval must be 0 or a whole number of seconds from 1s to 24h (e.g. 120, 2m), not \(reminderInterval.text)")
            }
        }
        for (flag, value) in [
            ("--max-sessions-per-address", maxSessionsPerAddress), ("--handshake-rate", handshakeRate), ("--handshake-burst", handshakeBurst),
            ("--event-rate", eventRate), ("--event-burst", eventBurst), ("--namespace-rate", namespaceRate),
            ("--namespace-burst", namespaceBurst), ("--ping-rate", pingRate), ("--ping-burst", pingBurst),
        ] where !OptionRanges.perAddressCount.contains(value) {
            throw ValidationError("\(flag) must be between 1 and 1000000, not \(value)")
        }
        if let trustedProxies {
            do {
                _ = try TrustedProxies(parsing: trustedProxies)
            } catch {
                throw ValidationError("--trusted-proxies must be comma-separated CIDRs such as 10.0.0.0/8,fd00::/8; \(error)")
            }
        }
        guard Self.parseTransports(transports) != nil else {
            let known = TransportRegistry.standard.names.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("--transports must be a comma-separated list of \(known), not '\(LogSafe.text(transports))'")
        }
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
            let url: MessageQueueURL
            do {
                url = try MessageQueueURL(parsing: messageQueue)
            } catch {
                throw ValidationError("--message-queue: \(error)")
            }
            if case .amqp = url {
                // Cross-node recovery keeps its sessions in a Redis store (Lua scripts); AMQP has no such store.
                guard recoveryWindow.milliseconds == 0 else {
                    throw ValidationError(
                        "--recovery-window needs a redis:// --message-queue: connection state recovery across nodes keeps sessions in Redis, which amqp:// cannot offer (use Redis, or drop --recovery-window)")
                }
                guard channel.utf8.count <= OptionRanges.amqpChannelBytes, !channel.hasPrefix("amq.") else {
                    throw ValidationError(
                        "--channel with an amqp:// --message-queue must be at most \(OptionRanges.amqpChannelBytes) bytes and not start with amq. (RabbitMQ reserves it), not '\(LogSafe.text(channel))'")
                }
            }
            do {
                _ = try MessageQueuePassword.resolve(url, file: messageQueuePasswordFile, environment: Self.passwordFromEnvironment)
            } catch {
                throw ValidationError("\(error)")
            }
            for (flag, value) in [("--message-queue-ca", messageQueueCa), ("--message-queue-tls-host", messageQueueTLSHost)] where value != nil {
                guard url.isTLS else { throw ValidationError("\(flag) needs a rediss:// or amqps:// (TLS) --message-queue, not \(url.description.prefix { $0 != ":" })://") }
            }
            if let messageQueueCa, let problem = RedisURL.problem(withCAFile: messageQueueCa) {
                throw ValidationError("--message-queue-ca \(LogSafe.text(messageQueueCa)): \(problem)")
            }
            if let messageQueueTLSHost {
                guard (1...253).contains(messageQueueTLSHost.utf8.count), !messageQueueTLSHost.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "/") }) else {
                    throw ValidationError("--message-queue-tls-host must be a host name or IP address, not '\(LogSafe.text(messageQueueTLSHost))'")
                }
            }
        } else {
            for (flag, value) in [
                ("--message-queue-password-file", messageQueuePasswordFile), ("--message-queue-ca", messageQueueCa),
                ("--message-queue-tls-host", messageQueueTLSHost),
            ] where value != nil {
                throw ValidationError("\(flag) needs --message-queue (the broker it is for)")
            }
        }
        if let nodeLink {
            guard messageQueue != nil else { throw ValidationError("--node-link needs --message-queue (the nodes find each other on its channel)") }
            guard let address = LinkAddress(parsing: nodeLink, allowNames: true) else {
                throw ValidationError("--node-link must be HOST:PORT or [IPv6]:PORT with a port of 1 to 65535, not '\(LogSafe.text(nodeLink))'")
            }
            guard !address.isUnspecified else {
                throw ValidationError(
                    "--node-link \(LogSafe.text(nodeLink)): the address is announced to the other nodes, so it must be one they can reach, not 0.0.0.0 or ::")
            }
        }
        guard OptionRanges.channelBytes.contains(channel.utf8.count), !channel.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else {
            throw ValidationError("--channel must be a name of 1 to 256 bytes without spaces or control characters, not '\(LogSafe.text(channel))'")
        }
        guard path.hasPrefix("/"), Self.isPlainURLPath(EngineConfiguration.normalise(path: path)) else {
            throw ValidationError(
                "--path must be a URL path starting with '/' of at most 128 bytes of letters, digits and -._~!$&'()*+,;=:@/, without // or dot segments, such as /socket.io/; not '\(LogSafe.text(path))'")
        }
    }

    /// A duration flag inside its range; the message names the flag, the range and the value given.
    private static func check(_ value: DurationArgument, in range: ClosedRange<Int64>, flag: String) throws {
        guard range.contains(value.milliseconds) else {
            throw ValidationError(
                "\(flag) must be between \(OptionRanges.text(milliseconds: range.lowerBound)) and \(OptionRanges.text(milliseconds: range.upperBound)), not \(value.text)")
        }
    }

    /// Whether `path` (already normalised to `/…/`) is a path lws will hand over unchanged: RFC 3986
    /// path characters without escapes (lws decodes `%XX` before matching), no `//`, `.` or `..`
    /// segments (lws folds them away), and short enough for lws's one-byte mountpoint length.
    static func isPlainURLPath(_ path: String) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/".utf8)
        guard OptionRanges.pathBytes.contains(path.utf8.count), path.hasPrefix("/"), path.utf8.allSatisfy(allowed.contains) else { return false }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().dropLast()
        return !segments.contains { $0.isEmpty || $0 == "." || $0 == ".." }
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

    /// The broker of --message-queue, when one was given, with its password from wherever it was given.
    /// Reads the password file again (checked in `validate()`); throws if it changed into something unusable.
    func messageQueueURL() throws(MessageQueuePasswordError) -> MessageQueueURL? {
        guard var url = messageQueue.flatMap({ try? MessageQueueURL(parsing: $0) }) else { return nil }
        switch url {
        case .redis(var redis):
            redis.verifyTLS(caFile: messageQueueCa, serverName: messageQueueTLSHost)
            url = .redis(redis)
        case .amqp(var amqp):
            amqp.verifyTLS(caFile: messageQueueCa, serverName: messageQueueTLSHost)
            url = .amqp(amqp)
        }
        return try MessageQueuePassword.resolve(url, file: messageQueuePasswordFile, environment: Self.passwordFromEnvironment)
    }

    /// ``MessageQueuePassword/environmentVariable`` when set.
    static var passwordFromEnvironment: String? {
        getenv(MessageQueuePassword.environmentVariable).map { String(cString: $0) }
    }

    /// The Socket.IO settings these flags describe.
    var socketIOConfiguration: SocketIOConfiguration {
        SocketIOConfiguration(
            recoveryWindow: recoveryWindow.milliseconds, recoveryLogBytes: recoveryLogBytes,
            maxRecoverableSessionsPerAddress: maxSessionsPerAddress, parser: parser)
    }

    /// The Engine.IO settings these flags describe.
    var engineConfiguration: EngineConfiguration {
        EngineConfiguration(
            pingInterval: pingInterval.milliseconds, pingTimeout: pingTimeout.milliseconds, maxPayload: maxPayload,
            maxBuffered: effectiveMaxBuffered, maxBufferedTotal: effectiveMaxBufferedTotal, path: path, transports: Self.parseTransports(transports),
            cors: CORSPolicy(parsing: corsOrigins) ?? .anyOrigin,
            addressLimits: AddressLimitConfiguration(
                maxSessions: maxSessionsPerAddress, handshakesPerSecond: handshakeRate, handshakeBurst: handshakeBurst),
            budgets: ClientBudgetConfiguration(
                events: BudgetLimit(perSecond: eventRate, burst: eventBurst),
                namespaceCycles: BudgetLimit(perSecond: namespaceRate, burst: namespaceBurst),
                pings: BudgetLimit(perSecond: pingRate, burst: pingBurst), disconnectAfter: overBudgetTime.milliseconds),
            allowEIO3: allowEIO3)
    }

    /// `--trusted-proxies`, checked in `validate()`.
    var proxies: TrustedProxies {
        trustedProxies.flatMap { try? TrustedProxies(parsing: $0) } ?? TrustedProxies()
    }

    /// `--transports`: one or more names registered in ``TransportRegistry/standard``, comma-separated;
    /// nil if empty or naming anything else.
    static func parseTransports(_ text: String) -> Set<TransportName>? {
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map { TransportName(String($0)) }
        guard !names.isEmpty, names.allSatisfy({ TransportRegistry.standard.kind(named: $0) != nil }) else { return nil }
        return Set(names)
    }
}

/// A duration flag's value (`25`, `500ms`, `30s`, `2m`).
struct DurationArgument: ExpressibleByArgument {
    let milliseconds: Int64
    /// The value as given, for error messages (escaped: it is whatever was typed).
    let text: String

    init(milliseconds: Int64) {
        self.milliseconds = milliseconds
        text = OptionRanges.text(milliseconds: milliseconds)
    }

    init?(argument: String) {
        guard let value = DurationText.milliseconds(from: argument) else { return nil }
        milliseconds = value
        text = LogSafe.text(argument)
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

/// `--parser`: the names are the wire formats'.
extension SocketIOParser: ExpressibleByArgument {}
