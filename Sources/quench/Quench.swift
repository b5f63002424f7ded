#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import EngineIO
import QuenchAMQP
import QuenchApp
import QuenchLWS
import QuenchMessageQueue
import QuenchRedis
import QuenchSystem
import SocketIO

/// The `quench` command: flags in, a running server out.
struct Quench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quench",
        abstract: "A Socket.IO server for the hydration-reminder chat app, in one small binary.",
        discussion: """
            Any Socket.IO v4 client (socket.io-client 3.x/4.x, python-socketio 5.x) connects to \
            http://HOST:PORT/socket.io/. On connect it gets system_message {"text":"Connected to server"}; \
            each user_message {"text":T} gets bot_message {"text":"T rcvd at HH:MM:SS (dummy reply)"}; \
            every client gets a hydration reminder at each multiple of --reminder-interval. \
            With --message-queue, several quench nodes (and python-socketio servers) share one Redis channel or RabbitMQ exchange. \
            Durations take plain seconds or a unit: 500ms, 30s, 2m. See quench(1).
            """,
        version: QuenchVersion.string)

    @OptionGroup var options: ServerOptions
    @OptionGroup var adminOptions: AdminOptions

    func run() throws {
        // First: every thread started from here on (the log's too) leaves SIGINT/SIGTERM/SIGHUP to the one
        // that waits for them.
        TerminationSignals.block()
        // Lines leave through a thread of their own: a reader of standard error that stops reading (a full
        // pipe, a throttling journald) must not stall the service thread. The last ones are flushed at exit.
        let sink = BackgroundLogSink(JournalLog.sinkForStandardError())
        defer { sink.flush() }
        let log = Logger(level: options.logLevel.level, sink: sink)
        if CommandLinePassword.hide() > 0 {
            log.info(
                "message queue: the password given in --message-queue is now hidden from ps, but other users could read it until now; --message-queue-password-file or \(MessageQueuePassword.environmentVariable) keep it off the command line"
            )
        }
        let messageQueueURL: MessageQueueURL?
        do {
            messageQueueURL = try options.messageQueueURL()
        } catch {
            log.error("\(error)")
            throw ExitCode.validationFailure
        }
        signal(SIGPIPE, SIG_IGN)
        ResourceLimits.setOpenFiles(options.maxOpenFiles ?? ResourceLimits.defaultOpenFiles, asked: options.maxOpenFiles != nil, log: log)

        var serverConfiguration = LWSServerConfiguration(
            host: options.host == "localhost" ? "127.0.0.1" : options.host, port: options.port, tls: options.tls, log: log,
            staticDirectory: options.staticDirectory)
        serverConfiguration.reusePort = options.reusePort
        serverConfiguration.trustedProxies = options.proxies
        let server = LWSServer(configuration: serverConfiguration)
        let engine = server.addEngine(configuration: options.engineConfiguration)
        let socketIO = SocketIOServer(engine: engine, configuration: options.socketIOConfiguration)
        let app = ChatApp(server: socketIO)
        let admin = adminOptions.configuration(secure: options.tls != nil, path: engine.configuration.path, clustered: messageQueueURL != nil).map {
            AdminUI(server: socketIO, configuration: $0, verify: PasswordHash.matches)
        }
        if let admin {
            let auth = if case .basic(let user, _) = admin.configuration.authentication { "user \(LogSafe.text(user))" } else { "no login (--admin-auth none)" }
            log.info("admin: Admin UI on namespace \(admin.configuration.namespace), \(auth)\(admin.configuration.readOnly ? ", read-only" : "")")
        }
        let page = ChatPage.html(socketIOPath: engine.configuration.path, transports: engine.configuration.transports)
        server.pageHandler = { request in ChatPage.respond(to: request, page: page) }
        let metrics = options.metrics ? ServiceMetrics(server: server, engine: engine, socketIO: socketIO) : nil
        metrics?.admin = admin
        metrics?.install()
        do {
            try server.start()
        } catch {
            log.error("\(error)")
            throw ExitCode.failure
        }

        metrics?.startSampling()
        // Before run(): this thread is the service thread until then, as for the metrics' timer.
        admin?.clustered = messageQueueURL != nil
        admin?.start()
        // --node-link's name, resolved before anything else starts (a name that resolves to nothing is one line and exit 1).
        var nodeLinkAddress: String?
        if let text = options.nodeLink {
            guard let parsed = LinkAddress(parsing: text, allowNames: true), let host = LinkHostResolver.numeric(parsed.host) else {
                log.error("--node-link \(LogSafe.text(text)): the name resolves to no address other nodes could reach")
                throw ExitCode.failure
            }
            nodeLinkAddress = LinkAddress(host: host, port: parsed.port).description
        }
        var messageQueue: (any MessageQueue)?
        if case .amqp(let url) = messageQueueURL {
            // The queue's threads start here; a broker that is down delays the queue, never the server.
            let queue = AMQPMessageQueue(url: url, channel: options.channel, log: log)
            metrics?.messageQueue = queue.counters
            queue.start(server: socketIO, executor: server.executor, watcher: nil)
            messageQueue = queue
        } else if case .redis(let url) = messageQueueURL {
            let queue = RedisMessageQueue(url: url, channel: options.channel, log: log)
            metrics?.messageQueue = queue.counters
            queue.start(server: socketIO, executor: server.executor, watcher: server)
            messageQueue = queue
            if options.socketIOConfiguration.recoveryWindow > 0 {
                // Sessions close (each kept in Redis), then this node hands them over and keeps recording
                // until its handover comes back on the channel and every command it queued for Redis (its
                // last appends, a flush for a take) has run, or the stop's deadline passes.
                let store = queue.recoveryStore
                server.willStop = {
                    store.prepareToStop()
                    socketIO.closeAllAndHandOver()
                }
                server.holdsStop = { socketIO.isHandingOver || !store.isDrained }
            }
        }
        if let messageQueue, let nodeLinkAddress {
            let (nodeLink, problem) = DirectNodeLink.start(
                in: messageQueue, engine: engine, address: nodeLinkAddress, network: server, executor: server.executor, log: log)
            guard let nodeLink else {
                log.error(problem ?? "--node-link: cannot listen")
                throw ExitCode.failure
            }
            log.info("node link: listening for the other quench nodes at \(nodeLink.address)")
            metrics?.nodeLink = nodeLink.counters
        }
        if options.reminderInterval.milliseconds > 0 {
            ReminderThread.start(
                schedule: ReminderSchedule(intervalSeconds: options.reminderInterval.milliseconds / 1000),
                clock: SystemWallClock(), executor: server.executor
            ) { time in
                app.sendReminder(at: time)
                metrics?.reminderSent(boundaryNanoseconds: time.nanoseconds)
            }
        }
        server.returnDroppedMemory(of: engine.outboundMemory)
        let systemd = SystemdNotifier()
        if let systemd {
            ServiceNotifications.start(systemd, server: server, engine: engine)
        }
        TerminationSignals.onSignal(
            reload: { server.requestCertificateReload() },
            exiting: { signal in
                log.warn("\(signal) again while stopping: exiting at once (status 1), without waiting for clients")
                sink.flush(timeoutMilliseconds: 500)
            }
        ) {
            // Before the stop reaches the service thread: systemd shows the unit deactivating at once.
            systemd?.notify("STOPPING=1")
            server.requestStop(drainingFor: options.drainTime.milliseconds)
        }
        server.run()
        // The server holds the Admin UI as its observer while someone watches, and the UI holds the server:
        // let go, so both are freed at exit (LeakSanitizer would report the pair).
        socketIO.observer = nil
    }
}
