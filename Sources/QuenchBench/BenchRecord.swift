/// Everything one run measured: connects, replies, latencies, reminder lags, failures and the window.
///
/// Both transports' clients feed one of these, so `Report` prints the same figures whatever carried them.
struct BenchRecord {
    /// How many clients the run started; the window opens once each has connected or failed.
    let clients: Int
    private(set) var connectedCount = 0
    /// The first few failure texts (the rest are only counted), prefixed with the client they hit.
    private(set) var failures: [String] = []
    private(set) var failureCount = 0
    /// Reply latencies inside the window.
    private(set) var latencies = LatencySamples()
    /// From leaving the connect queue to the welcome message, per client.
    private(set) var connectTimes = LatencySamples()
    /// Replies over the whole run, and inside the measured window.
    private(set) var replies = 0
    private(set) var repliesInWindow = 0
    /// Latencies of replies in flight at some moment of the second after a reminder boundary (rtt mode with
    /// a reminder interval): what an active client sees while the server fans a reminder out.
    private(set) var fanoutLatencies = LatencySamples()
    /// Clients whose message had waited more than ``unansweredAfterNanoseconds`` for its reply when the run
    /// ended: a reply lost (every reply that does come is checked against the message in flight).
    private(set) var unanswered = 0
    static let unansweredAfterNanoseconds: Int64 = 5_000_000_000
    /// Reminder lag per boundary: wall ns from the boundary to each arrival.
    private(set) var reminderLags: [Int64: LatencySamples] = [:]
    /// Whether the measured window is open.
    private(set) var measuring = false
    private(set) var allConnectedAt: Int64?
    private(set) var windowStart: Int64 = 0
    private(set) var windowEnd: Int64 = 0

    init(clients: Int) {
        self.clients = clients
    }

    /// Every client has either connected or failed: time to open the window.
    var everyClientSettled: Bool { connectedCount + failureCount >= clients }

    mutating func connected(startedAt: Int64) {
        connectedCount += 1
        connectTimes.add(Clock.monotonic() - startedAt)
    }

    /// Counts a checked reply; true when it fell inside the window (so rtt sends the next message). With a
    /// reminder interval, a reply that was in flight at some moment of the second after a boundary is also
    /// filed under the fan-out window.
    mutating func replied(latency: Int64, reminderIntervalSeconds: Int64 = 0) -> Bool {
        replies += 1
        guard measuring else { return false }
        repliesInWindow += 1
        latencies.add(latency)
        if reminderIntervalSeconds > 0 {
            let now = Clock.wall()
            let interval = reminderIntervalSeconds * 1_000_000_000
            let boundary = now / interval * interval
            // In flight from now - latency to now; the window after the latest boundary is [boundary, boundary + 1 s).
            if now - latency < boundary + BenchSettings.fanoutWindowNanoseconds { fanoutLatencies.add(latency) }
        }
        return true
    }

    /// Counts a client left waiting for a reply at the end of the run.
    mutating func unansweredAtEnd() { unanswered += 1 }

    /// Files a reminder's arrival under the boundary it belongs to; returns that boundary (wall ns), or nil
    /// without an interval.
    @discardableResult
    mutating func reminderArrived(intervalSeconds: Int64) -> Int64? {
        guard intervalSeconds > 0 else { return nil }
        let now = Clock.wall()
        let interval = intervalSeconds * 1_000_000_000
        let boundary = now / interval * interval
        reminderLags[boundary, default: LatencySamples()].add(now - boundary)
        return boundary
    }

    /// Counts a failure; only the first five texts are kept, so a thousand identical ones stay readable.
    mutating func failed(_ text: String) {
        failureCount += 1
        if failures.count < 5 { failures.append(text) }
    }

    /// Opens the measured window now; false if it was already open (it opens once per run).
    mutating func openWindow(durationSeconds: Double) -> Bool {
        guard allConnectedAt == nil else { return false }
        let now = Clock.monotonic()
        allConnectedAt = now
        windowStart = now
        windowEnd = now + Int64(durationSeconds * 1e9)
        measuring = true
        return true
    }

    /// Whether the open window has run its length.
    var windowElapsed: Bool { measuring && Clock.monotonic() >= windowEnd }

    mutating func closeWindow() {
        measuring = false
    }
}
