#if canImport(Glibc)
import Glibc
#endif
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
            """)

    @Option(help: "Server URL: ws://HOST:PORT[/path/] (path defaults to /socket.io/).")
    var url = "ws://127.0.0.1:5000"

    @Option(help: "Number of concurrent clients.")
    var clients = 50

    @Option(help: "Seconds to measure once every client is connected.")
    var duration = 10.0

    @Option(help: "rtt, idle or fanout.")
    var mode = "rtt"

    @Option(help: "Transport; only websocket is implemented.")
    var transport = "websocket"

    @Option(help: "The server's process id: report its CPU per reply and memory per session from /proc.")
    var pid: Int32?

    @Option(help: "The server's reminder interval in seconds (fanout mode).")
    var reminderInterval: Int64 = 0

    @Option(help: "Seconds to wait for every client to connect before measuring with those that did.")
    var connectTimeout = 30.0

    @Flag(help: "Print one machine-readable line of key=value results after the report, and a READY line the moment every client is connected.")
    var machine = false

    func validate() throws {
        guard clients > 0 else { throw ValidationError("--clients must be positive") }
        guard duration > 0 else { throw ValidationError("--duration must be positive") }
        guard connectTimeout > 0 else { throw ValidationError("--connect-timeout must be positive") }
        guard BenchClient.Mode(rawValue: mode) != nil else { throw ValidationError("--mode must be rtt, idle or fanout") }
        guard transport == "websocket" else { throw ValidationError("--transport: only websocket is implemented in quench-bench") }
        guard parsedURL != nil else { throw ValidationError("--url must look like ws://HOST:PORT[/path/]") }
        if mode == "fanout", reminderInterval <= 0 { throw ValidationError("--mode fanout needs --reminder-interval SECONDS") }
    }

    private var parsedURL: (host: String, port: Int, path: String)? {
        guard url.hasPrefix("ws://") else { return nil }
        let rest = url.dropFirst(5)
        let hostPort = rest.prefix { $0 != "/" }
        var path = String(rest.dropFirst(hostPort.count))
        if path.isEmpty || path == "/" { path = "/socket.io/" }
        if !path.hasSuffix("/") { path += "/" }
        let parts = hostPort.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { return nil }
        return (String(parts[0]), port, path)
    }

    func run() throws {
        raiseOpenFileLimit()
        signal(SIGPIPE, SIG_IGN)
        guard let target = parsedURL, let benchMode = BenchClient.Mode(rawValue: mode) else { throw ExitCode.validationFailure }
        let client = BenchClient(
            settings: .init(
                host: target.host, port: target.port, path: target.path, clients: clients, durationSeconds: duration,
                mode: benchMode, reminderIntervalSeconds: reminderInterval, connectTimeoutSeconds: connectTimeout))
        let baseline = pid.flatMap(ProcessSample.read(pid:))
        var windowStartSample: ProcessSample?
        var clientCPUAtStart: Int64 = 0
        client.onAllConnected = {
            windowStartSample = pid.flatMap(ProcessSample.read(pid:))
            clientCPUAtStart = ProcessSample.selfCPUMicroseconds()
            if machine {
                // Lets a script driving several bench processes sample the server once all of them are connected.
                print("READY connected=\(client.connectedCount) failures=\(client.failureCount) wall_ns=\(Clock.wall())")
                fflush(nil)
            }
        }
        guard client.run() else {
            print("quench-bench: could not create an lws client context")
            throw ExitCode.failure
        }
        let windowEndSample = pid.flatMap(ProcessSample.read(pid:))
        let clientCPU = ProcessSample.selfCPUMicroseconds() - clientCPUAtStart
        let report = Report(
            client: client, baseline: baseline, windowStart: windowStartSample, windowEnd: windowEndSample, clientCPU: clientCPU)
        report.print(machine: machine)
        if client.failureCount > 0 { throw ExitCode(2) }
    }

    private func raiseOpenFileLimit() {
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            limit.rlim_cur = limit.rlim_max
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
    }
}
