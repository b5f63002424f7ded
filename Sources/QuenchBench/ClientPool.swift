/// Where one simulated client stands.
enum ClientState { case connecting, handshaking, ready, closed }

/// One simulated client as the pool sees it, whatever carries its packets.
protocol SimulatedClient: AnyObject {
    /// Its number, in message texts and failure lines.
    var index: Int { get }
    var state: ClientState { get set }
    /// When its connect began (monotonic ns), set as it leaves the queue of clients waiting to connect.
    var startedAt: Int64 { get set }
    /// The boundary (wall ns) of the last reminder it got, so a second one for the same boundary is caught.
    var lastReminderBoundary: Int64 { get set }
    /// When its message still waiting for a reply was sent (monotonic ns); nil when none waits.
    var inFlightSince: Int64? { get }
    /// Sends the next `user_message` (rtt mode).
    func sendNextMessage()
    /// Drops its sockets after a failure (a failed client is not retried).
    func abandon()
}

/// What both transports' drivers share: the bounded connect ramp, the measured window, and what each
/// verdict of a client's `ChatScript` does to the `BenchRecord`. Subclasses start the connects and run
/// the event loop.
class ClientPool<Client: SimulatedClient> {
    let settings: BenchSettings
    private(set) var record: BenchRecord
    var onAllConnected: (() -> Void)?
    /// Every client of the run, in index order; set by the subclass before `connectMore()`.
    var clients: [Client] = []
    private(set) var finished = false
    private var nextToConnect = 0
    private var connecting = 0
    /// Set while `connectMore` runs, so a failure inside it does not start a second, nested loop.
    private var startingClients = false
    /// With `--think-ms`: clients that got their reply, each with when its next message is due (monotonic
    /// ns), in due order (every client waits the same time). At most one entry per client.
    private var thinking: [(client: Client, due: Int64)] = []
    private var thinkingHead = 0

    /// Handshakes in flight at once: a thousand clients do not SYN-flood the server.
    private static var maximumConnecting: Int { 128 }

    init(settings: BenchSettings) {
        self.settings = settings
        record = BenchRecord(clients: settings.clients)
    }

    /// Starts `client`'s connect; reports a failure to start through ``fail(_:_:)``.
    func startConnecting(_ client: Client) {
        preconditionFailure("subclasses start their clients' connects")
    }

    /// Keeps a bounded number of handshakes in flight. A start that fails at once calls back here through
    /// `fail`; that inner call returns at once and this loop goes on, so failures do not nest.
    func connectMore() {
        guard !startingClients else { return }
        startingClients = true
        defer { startingClients = false }
        while connecting < Self.maximumConnecting, nextToConnect < clients.count, !finished {
            let client = clients[nextToConnect]
            nextToConnect += 1
            connecting += 1
            client.startedAt = Clock.monotonic()
            startConnecting(client)
        }
    }

    /// Called from the event loop after each wake-up: gives up connecting at `connectDeadline` and closes
    /// the window when it has run its length.
    func checkDeadlines(connectDeadline: Int64) {
        if record.allConnectedAt == nil, Clock.monotonic() > connectDeadline {
            fail(nil, "gave up connecting after \(settings.connectTimeoutSeconds)s with \(record.connectedCount)/\(settings.clients) connected")
            startWindow()
        }
        if record.windowElapsed { finish() }
        sendDueMessages()
    }

    /// Sends the next message of every thinking client whose pause is over.
    private func sendDueMessages() {
        guard thinkingHead < thinking.count else { return }
        let now = Clock.monotonic()
        while thinkingHead < thinking.count, thinking[thinkingHead].due <= now, !finished {
            let client = thinking[thinkingHead].client
            thinkingHead += 1
            if client.state == .ready { client.sendNextMessage() }
        }
        if thinkingHead == thinking.count {
            thinking.removeAll(keepingCapacity: true)
            thinkingHead = 0
        }
    }

    /// Ends the run; subclasses also wake their event loop. A client still waiting for a reply sent long
    /// before counts as unanswered.
    func finish() {
        guard !finished else { return }
        record.closeWindow()
        finished = true
        let now = Clock.monotonic()
        for client in clients where client.state == .ready {
            if let since = client.inFlightSince, now - since > BenchRecord.unansweredAfterNanoseconds { record.unansweredAtEnd() }
        }
    }

    /// What a client's script made of a Socket.IO packet.
    func handle(_ verdict: ChatScript.Verdict, from client: Client) {
        guard client.state != .closed else { return }  // a failed client no longer counts
        switch verdict {
        case .connectStep(let complete):
            guard complete, client.state == .handshaking else { return }
            client.state = .ready
            connected(client)
        case .reminder:
            guard let boundary = record.reminderArrived(intervalSeconds: settings.reminderIntervalSeconds) else { return }
            if boundary == client.lastReminderBoundary {
                fail(client, "a second reminder for the boundary at \(boundary / 1_000_000_000)")
            }
            client.lastReminderBoundary = boundary
        case .reply(let latency):
            guard record.replied(latency: latency, reminderIntervalSeconds: settings.reminderIntervalSeconds) else { return }
            if settings.thinkMilliseconds > 0 {
                thinking.append((client, Clock.monotonic() + Int64(settings.thinkMilliseconds) * 1_000_000))
            } else {
                client.sendNextMessage()
            }
        case .failure(let text):
            fail(client, text)
        }
    }

    /// Counts a failure and drops the client; `nil` is a failure of the run (no client connected in time).
    func fail(_ client: Client?, _ reason: String) {
        guard !finished else { return }
        record.failed((client.map { "client \($0.index): " } ?? "") + reason)
        if let client, client.state != .closed {
            if client.state != .ready { connecting -= 1 }
            client.state = .closed
            client.abandon()
            connectMore()
        }
        if record.allConnectedAt == nil, record.everyClientSettled { startWindow() }
    }

    private func connected(_ client: Client) {
        connecting -= 1
        record.connected(startedAt: client.startedAt)
        connectMore()
        if record.measuring {
            // A late joiner (the window started without it after a failure): put it to work too.
            if settings.mode == .rtt { client.sendNextMessage() }
        } else if record.everyClientSettled {
            startWindow()
        }
    }

    private func startWindow() {
        guard record.openWindow(durationSeconds: settings.durationSeconds) else { return }
        onAllConnected?()
        if settings.mode == .rtt {
            for client in clients where client.state == .ready { client.sendNextMessage() }
        }
    }
}
