#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchApp
import QuenchLWS
import QuenchMessageQueue
import QuenchRedis
import SocketIO

/// Everything `/metrics` shows, gathered on the service thread at each scrape from the counters each
/// layer keeps where its events happen (``EngineCounters``, ``LWSCounters``, each namespace's
/// connects, ``MessageQueueCounters``), plus the two histograms kept here: the service loop's lag and
/// the reminders' delivery time.
///
/// `@unchecked Sendable`: confined to the service thread (the reminder closure and the loop timer
/// run there); it is only handed to closures that run there.
final class ServiceMetrics: @unchecked Sendable {
    private let server: LWSServer
    private let engine: EngineServer
    private let socketIO: SocketIOServer
    /// Set when `--message-queue` is on.
    var messageQueue: MessageQueueCounters?
    /// Set when `--node-link` is on.
    var nodeLink: NodeLinkCounters?
    /// Set when `--admin` is on.
    var admin: AdminUI?

    /// How late the loop served a timer due every ``lagProbeMilliseconds``: a busy or blocked loop shows here.
    private(set) var loopLag = LatencyHistogram(bounds: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5])
    /// From the reminder's wall-clock boundary to its last frame handed to the clients' transports.
    private(set) var reminderDelivery = LatencyHistogram(bounds: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
    private(set) var reminders = 0

    /// How often the loop's lag is sampled.
    static let lagProbeMilliseconds: Int64 = 1000

    init(server: LWSServer, engine: EngineServer, socketIO: SocketIOServer) {
        self.server = server
        self.engine = engine
        self.socketIO = socketIO
    }

    /// Serves `/metrics` from `server`. Before ``LWSServer/start()``, which mounts the path (ahead of `--static`).
    func install() {
        server.metricsPage = { [unowned self] in self.render() }
    }

    /// Starts sampling the loop's lag. After ``LWSServer/start()``.
    func startSampling() {
        server.repeatEvery(milliseconds: Self.lagProbeMilliseconds) { [unowned self] late in
            self.loopLag.observe(Double(late) / 1e6)
        }
    }

    /// A reminder for `boundaryNanoseconds` (wall clock) has just been handed to every client. Service thread.
    func reminderSent(boundaryNanoseconds: Int64) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let elapsed = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec) - boundaryNanoseconds
        reminders += 1
        reminderDelivery.observe(Double(max(elapsed, 0)) / 1e9)
    }

    /// The page, in the text exposition format 0.0.4.
    func render() -> [UInt8] {
        var page = PrometheusText()
        let counters = engine.counters

        page.family("quench_build_info", .gauge, help: "Always 1; the version is a label.")
        page.sample("quench_build_info", ["version": QuenchVersion.string], 1)

        page.family("quench_sessions", .gauge, help: "Engine.IO sessions open now, by the transport that carries them.")
        for transport in TransportRegistry.standard.names {
            page.sample("quench_sessions", ["transport": transport.rawValue], counters.openByTransport[transport] ?? 0)
        }
        page.single("quench_sessions_opened_total", .counter, help: "Engine.IO sessions opened (successful handshakes).", counters.sessionsOpened)
        page.family("quench_sessions_closed_total", .counter, help: "Engine.IO sessions closed, by reason.")
        for reason in DisconnectReason.allCases {
            page.sample("quench_sessions_closed_total", ["reason": Self.label(reason)], counters.closes[reason] ?? 0)
        }
        page.single("quench_sessions_eio3", .gauge, help: "Engine.IO 3 sessions open now (--allow-eio3), included in quench_sessions.", counters.openV3)
        page.single("quench_upgrades_total", .counter, help: "Sessions upgraded from long-polling to WebSocket.", counters.upgrades)
        page.single("quench_connections", .gauge, help: "TCP connections open now (HTTP and WebSocket).", server.connectionCount)

        page.family("quench_socketio_connects_total", .counter, help: "Socket.IO CONNECTs accepted, by namespace.")
        let namespaces = socketIO.servedNamespaces
        for namespace in namespaces {
            page.sample("quench_socketio_connects_total", ["namespace": namespace.name], namespace.connects)
        }
        page.family("quench_socketio_sockets", .gauge, help: "Socket.IO sockets connected now, by namespace.")
        for namespace in namespaces {
            page.sample("quench_socketio_sockets", ["namespace": namespace.name], namespace.sockets.count)
        }

        renderRecovery(into: &page, namespaces)

        page.single("quench_messages_received_total", .counter, help: "Engine.IO messages received from clients.", counters.messagesReceived)
        page.single("quench_received_bytes_total", .counter, help: "Payload bytes of the messages received from clients.", counters.bytesReceived)
        page.single("quench_messages_sent_total", .counter, help: "Engine.IO messages handed to clients' sessions.", counters.messagesSent)
        page.single("quench_sent_bytes_total", .counter, help: "Payload bytes of the messages handed to clients' sessions.", counters.bytesSent)

        page.family("quench_http_refused_total", .counter, help: "HTTP error responses quench wrote (refused handshakes, 404, 408, 413, 431, 503), by status.")
        for (status, count) in server.counters.refusedByStatus.sorted(by: { $0.key < $1.key }) {
            page.sample("quench_http_refused_total", ["status": String(status)], count)
        }

        let memory = engine.outboundMemory
        page.single("quench_outbound_queued_bytes", .gauge, help: "Bytes queued for all clients together, not yet taken by them.", memory.queued)
        page.single("quench_outbound_queued_limit_bytes", .gauge, help: "--max-buffered-total: the most bytes queued for all clients together.", memory.limit)
        page.family("quench_outbound_limit_closes_total", .counter, help: "Sessions closed for queued output, by cause: client (its own --max-buffered) or total (the most unread bytes at --max-buffered-total).")
        page.sample("quench_outbound_limit_closes_total", ["cause": "client"], memory.clientLimitCloses)
        page.sample("quench_outbound_limit_closes_total", ["cause": "total"], memory.closes)

        let addressLimits = engine.addressLimitCounters
        page.family("quench_address_refused_total", .counter, help: "Handshakes refused with 429 at a per-address bound, by cause.")
        for cause in AddressLimitCause.allCases {
            page.sample("quench_address_refused_total", ["cause": cause.rawValue], addressLimits.refused[cause] ?? 0)
        }
        page.single(
            "quench_address_table_evictions_total", .counter,
            help: "Client addresses forgotten to make room in the per-address table while they still held sessions or handshakes.",
            addressLimits.evictions)
        page.single("quench_address_table_entries", .gauge, help: "Client addresses the per-address table tracks now.", addressLimits.trackedAddresses)

        let budgets = engine.budgetCounters
        page.family("quench_budget_refused_total", .counter, help: "Client inputs dropped over a per-client budget (--event-rate, --namespace-rate, --ping-rate), by cause.")
        for cause in BudgetCause.allCases {
            page.sample("quench_budget_refused_total", ["cause": cause.rawValue], budgets.refused[cause] ?? 0)
        }
        page.family("quench_budget_disconnects_total", .counter, help: "Clients disconnected for staying over a per-client budget for --over-budget-time, by cause.")
        for cause in BudgetCause.allCases {
            page.sample("quench_budget_disconnects_total", ["cause": cause.rawValue], budgets.disconnects[cause] ?? 0)
        }

        page.single(
            "quench_log_lines_suppressed_total", .counter,
            help: "Log lines a client caused that were left out (past 5 of a kind from one address or session in 10 s).",
            Int(server.log.floodGuard.suppressedLines))

        page.single("quench_reminders_total", .counter, help: "Hydration reminders sent (one per boundary, to every client).", reminders)
        page.histogram(
            "quench_reminder_delivery_seconds",
            help: "From a reminder's wall-clock boundary to its message handed to the last client's transport.", reminderDelivery)

        if let queue = messageQueue?.snapshot() {
            page.single("quench_message_queue_connected", .gauge, help: "1 while subscribed to the Redis channel or consuming the RabbitMQ queue, 0 otherwise.", queue.connected ? 1 : 0)
            page.single("quench_message_queue_published_total", .counter, help: "Messages published (Redis: confirmed; RabbitMQ: written to the broker).", queue.published)
            page.single("quench_message_queue_received_total", .counter, help: "Messages from other nodes received from the broker.", queue.received)
            page.single("quench_message_queue_dropped_total", .counter, help: "Messages dropped from the full publish queue.", queue.dropped)
            if let link = nodeLink?.snapshot() {
                page.single("quench_node_link_frames_sent_total", .counter, help: "Node messages written to a direct --node-link connection.", link.framesSent)
                page.single(
                    "quench_node_link_frames_received_total", .counter, help: "Node messages read from a direct --node-link connection.", link.framesReceived)
                page.single("quench_node_link_connections", .gauge, help: "Authenticated --node-link connections up now, both ways.", link.connections)
                page.single(
                    "quench_node_link_auth_refused_total", .counter,
                    help: "Inbound --node-link connections closed for a wrong or missing hello, or past 256 connections.", link.authRefused)
                page.single(
                    "quench_node_link_fallback_total", .counter, help: "Node messages sent through the message queue because no direct link to their node was up.",
                    link.fallback)
                page.single("quench_node_link_bad_frames_total", .counter, help: "Frames from a linked node that were not a node message (skipped).", link.badFrames)
                page.single(
                    "quench_node_link_peers_ignored_total", .counter, help: "Announced nodes ignored because 256 nodes were known already.", link.peersIgnored)
            }
            let cluster = engine.clusterCounters
            page.family(
                "quench_forwarded_requests_total", .counter,
                help: "Polling requests for a session another node holds, passed on to it, by how they ended.")
            for outcome in ForwardOutcome.allCases {
                page.sample("quench_forwarded_requests_total", ["outcome": outcome.rawValue], cluster.forwarded[outcome] ?? 0)
            }
            page.single(
                "quench_forwarded_requests_served_total", .counter, help: "Requests other nodes passed on to this one (it holds their sessions).",
                cluster.served)
            page.family("quench_session_moves_total", .counter, help: "Sessions moved between nodes with their client's new connection, by outcome.")
            for outcome in MoveOutcome.allCases {
                page.sample("quench_session_moves_total", ["outcome": outcome.rawValue], cluster.moves[outcome] ?? 0)
            }
        }

        if let counts = admin?.counts {
            page.single("quench_admin_viewers", .gauge, help: "Admin UI clients connected to this node now.", counts.viewers)
            page.family("quench_admin_logins_total", .counter, help: "Logins to the Admin UI's namespace, by outcome.")
            page.sample("quench_admin_logins_total", ["outcome": "accepted"], counts.logins.accepted)
            page.sample("quench_admin_logins_total", ["outcome": "refused"], counts.logins.refused)
            page.sample("quench_admin_logins_total", ["outcome": "throttled"], counts.logins.throttled)
            page.family("quench_admin_reports_dropped_total", .counter, help: "Admin UI reports left out over their bound, by feed.")
            page.sample("quench_admin_reports_dropped_total", ["feed": "events"], counts.eventReportsDropped)
            page.sample("quench_admin_reports_dropped_total", ["feed": "changes"], counts.changeReportsDropped)
        }

        page.histogram(
            "quench_service_loop_lag_seconds",
            help: "How late the service loop served a timer due every second (time from its wake-up being due to being served).",
            loopLag)

        if let process = ProcessMetrics.current() {
            page.single("process_cpu_seconds_total", .counter, help: "Total user and system CPU time spent in seconds.", process.cpuSeconds)
            page.single("process_resident_memory_bytes", .gauge, help: "Resident memory size in bytes.", process.residentBytes)
            page.single("process_virtual_memory_bytes", .gauge, help: "Virtual memory size in bytes.", process.virtualBytes)
            page.single("process_open_fds", .gauge, help: "Number of open file descriptors.", process.openFileDescriptors)
            page.single("process_max_fds", .gauge, help: "Maximum number of open file descriptors.", process.maxFileDescriptors)
            page.single("process_start_time_seconds", .gauge, help: "Start time of the process since unix epoch in seconds.", process.startTimeSeconds)
        }
        return page.bytes
    }

    /// Connection state recovery's families, when it is on (`--recovery-window`).
    private func renderRecovery(into page: inout PrometheusText, _ namespaces: [Namespace]) {
        let recovering = namespaces.compactMap { namespace in namespace.recoveryCounts.map { (namespace.name, $0) } }
        guard !recovering.isEmpty else { return }
        page.family("quench_recovery_restored_total", .counter, help: "Sessions recovered (same sid, missed packets sent), by namespace and where they were kept.")
        for (name, counts) in recovering {
            page.sample("quench_recovery_restored_total", ["namespace": name, "from": "memory"], counts.restoredHere)
            page.sample("quench_recovery_restored_total", ["namespace": name, "from": "store"], counts.restoredFromStore)
        }
        page.family("quench_recovery_refused_total", .counter, help: "CONNECTs that asked for recovery and got a new session, by namespace and reason.")
        for (name, counts) in recovering {
            for kind in RecoveryRefusalKind.allCases {
                page.sample("quench_recovery_refused_total", ["namespace": name, "reason": kind.rawValue], counts.refused[kind] ?? 0)
            }
        }
        page.family("quench_recovery_sessions_kept", .gauge, help: "Dropped sessions kept for recovery now (in memory, or recorded for in the store), by namespace.")
        for (name, counts) in recovering { page.sample("quench_recovery_sessions_kept", ["namespace": name], counts.kept) }
        page.family("quench_recovery_sessions_dropped_total", .counter, help: "Dropped sessions not kept because the bound on kept sessions was reached, by namespace.")
        for (name, counts) in recovering { page.sample("quench_recovery_sessions_dropped_total", ["namespace": name], counts.droppedAtBound) }
        page.family(
            "quench_recovery_sessions_dropped_per_address_total", .counter,
            help: "Kept sessions dropped because their client address reached its own bound (--max-sessions-per-address; that address's oldest), by namespace.")
        for (name, counts) in recovering {
            page.sample("quench_recovery_sessions_dropped_per_address_total", ["namespace": name], counts.droppedAtAddressBound)
        }
    }

    /// A close reason as a label value: its words joined by underscores (`ping_timeout`).
    static func label(_ reason: DisconnectReason) -> String {
        String(reason.rawValue.map { $0 == " " ? "_" : $0 })
    }
}
