import CBenchSystem
import ArgumentParser

/// `quench-bench`: a load generator for Socket.IO servers of the seed's app, as redis-benchmark is to
/// Redis. It checks every reply's text, so a fast wrong server scores zero.
struct QuenchBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quench-bench",
        abstract: "Load-test a Socket.IO server of the hydration chat app (quench, the lws floor, the seed app).",
        discussion: """
            Modes: rtt — every client keeps one user_message in flight and each bot_message is checked; \
            idle — clients connect and stay (answering pings) to measure memory per session and drops; \
            fanout — clients stay and the lag of each reminder after its wall-clock boundary is measured \
            (start the server with --reminder-interval equal to this tool's --reminder-interval).
            Transports: websocket — one WebSocket per client; polling — Engine.IO HTTP long-polling as a \
            browser does it before upgrading: one keep-alive connection always holds a GET, the other carries \
            POSTs one at a time. Every mode, check and figure is the same for both.
            """)

    @Option(
        help: ArgumentHelp(
            "Server URL: ws://, wss:// or http://HOST:PORT[/path/] (path defaults to /socket.io/).",
            discussion: "ws:// and http:// work with either transport; the scheme only picks the transport when --transport is not given. wss:// is WebSocket over TLS (the server's certificate is not verified)."))
    var url = "ws://127.0.0.1:5000"

    @Option(help: "Number of concurrent clients.")
    var clients = 50

    @Option(help: "Seconds to measure once every client is connected.")
    var duration = 10.0

    @Option(help: "rtt, idle or fanout.")
    var mode = "rtt"

    @Option(
        help: ArgumentHelp(
            "websocket (one WebSocket per client) or polling (Engine.IO HTTP long-polling: two keep-alive connections per client).",
            discussion: "Default: polling for an http:// URL, websocket otherwise."))
    var transport: String?

    @Option(help: "The server's process id: report its CPU per reply and memory per session from /proc.")
    var pid: Int32?

    @Option(help: "The server's reminder interval in seconds (fanout mode).")
    var reminderInterval: Int64 = 0

    @Option(
        help: ArgumentHelp(
            "rtt over WebSocket: milliseconds each client waits after a reply before its next message (0: at once).",
            discussion: "With --reminder-interval too, replies in flight within 1 s after each boundary are also reported on their own (the fan-out window)."))
    var thinkMs = 0

    @Option(help: "Seconds to wait for every client to connect before measuring with those that did.")
    var connectTimeout = 30.0

    @Option(help: "json, or msgpack for a server started with --parser msgpack (WebSocket only).")
    var parser = "json"

    @Flag(help: "Print one machine-readable line of key=value results after the report, and a READY line the moment every client is connected.")
    var machine = false

    func validate() throws {
        guard clients > 0 else { throw ValidationError("--clients must be positive") }
        guard duration > 0 else { throw ValidationError("--duration must be positive") }
        guard connectTimeout > 0 else { throw ValidationError("--connect-timeout must be positive") }
        guard BenchSettings.Mode(rawValue: mode) != nil else { throw ValidationError("--mode must be rtt, idle or fanout") }
        if let transport, BenchSettings.Transport(rawValue: transport) == nil {
            throw ValidationError("--transport must be websocket or polling")
        }
        if url.hasPrefix("https://") {
            throw ValidationError("--url: polling over TLS is not supported by quench-bench; use wss:// (WebSocket) or http://")
        }
        if url.hasPrefix("wss://"), transport == "polling" {
            throw ValidationError("--url wss:// is for --transport websocket; polling over TLS is not supported by quench-bench")
        }
        guard parsedURL != nil else { throw ValidationError("--url must look like ws://, wss:// or http://HOST:PORT[/path/]") }
        if mode == "fanout", reminderInterval <= 0 { throw ValidationError("--mode fanout needs --reminder-interval SECONDS") }
        guard thinkMs >= 0 else { throw ValidationError("--think-ms must not be negative") }
        guard parser == "json" || parser == "msgpack" else { throw ValidationError("--parser must be json or msgpack") }
        if parser == "msgpack", transport == "polling" || (transport == nil && url.hasPrefix("http://")) {
            throw ValidationError("--parser msgpack is for WebSocket")
        }
        if thinkMs > 0, mode != "rtt" || transport == "polling" || (transport == nil && url.hasPrefix("http://")) {
            throw ValidationError("--think-ms is for --mode rtt over WebSocket")
        }
    }

    /// HOST, PORT and path of `--url`, and the transport its scheme suggests.
    private var parsedURL: (host: String, port: Int, path: String, scheme: BenchSettings.Transport, tls: Bool)? {
        let scheme: BenchSettings.Transport
        let rest: Substring
        if url.hasPrefix("wss://") {
            scheme = .websocket
            rest = url.dropFirst(6)
        } else if url.hasPrefix("ws://") {
            scheme = .websocket
            rest = url.dropFirst(5)
        } else if url.hasPrefix("http://") {
            scheme = .polling
            rest = url.dropFirst(7)
        } else {
            return nil
        }
        let hostPort = rest.prefix { $0 != "/" }
        var path = String(rest.dropFirst(hostPort.count))
        if path.isEmpty || path == "/" { path = "/socket.io/" }
        if !path.hasSuffix("/") { path += "/" }
        // The port follows the last colon, so a bracketed IPv6 literal ([::1]:5000) keeps its own colons.
        guard let colon = hostPort.lastIndex(of: ":"), let port = Int(hostPort[hostPort.index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        let host = hostPort[..<colon]
        guard !host.isEmpty, !host.hasPrefix("[") || host.hasSuffix("]"), host.hasPrefix("[") || !host.contains(":") else { return nil }
        return (String(host), port, path, scheme, url.hasPrefix("wss://"))
    }

    func run() throws {
        raiseOpenFileLimit()
        cbench_ignore_sigpipe()
        guard let target = parsedURL, let benchMode = BenchSettings.Mode(rawValue: mode) else { throw ExitCode.validationFailure }
        let benchTransport = transport.flatMap(BenchSettings.Transport.init(rawValue:)) ?? target.scheme
        let settings = BenchSettings(
            host: target.host, port: target.port, path: target.path, clients: clients, durationSeconds: duration,
            mode: benchMode, transport: benchTransport, reminderIntervalSeconds: reminderInterval,
            connectTimeoutSeconds: connectTimeout, thinkMilliseconds: thinkMs, msgpack: parser == "msgpack", tls: target.tls)
        let client: any BenchDriver =
            switch benchTransport {
            case .websocket: BenchClient(settings: settings)
            case .polling: PollingClient(settings: settings)
            }
        let baseline = pid.flatMap(ProcessSample.read(pid:))
        var windowStartSample: ProcessSample?
        var clientCPUAtStart: Int64 = 0
        client.onAllConnected = {
            windowStartSample = pid.flatMap(ProcessSample.read(pid:))
            clientCPUAtStart = ProcessSample.selfCPUMicroseconds()
            if machine {
                // Lets a script driving several bench processes sample the server once all of them are connected.
                print("READY connected=\(client.record.connectedCount) failures=\(client.record.failureCount) wall_ns=\(Clock.wall())")
                fflush(nil)
            }
        }
        do {
            try client.run()
        } catch {
            print("quench-bench: \(error)")
            throw ExitCode.failure
        }
        let windowEndSample = pid.flatMap(ProcessSample.read(pid:))
        let clientCPU = ProcessSample.selfCPUMicroseconds() - clientCPUAtStart
        let report = Report(
            settings: settings, record: client.record, baseline: baseline, windowStart: windowStartSample, windowEnd: windowEndSample,
            clientCPU: clientCPU)
        report.print(machine: machine)
        if client.record.failureCount > 0 { throw ExitCode(2) }
    }

    private func raiseOpenFileLimit() {
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            limit.rlim_cur = limit.rlim_max
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
    }
}
