/// The figures of one run, printed for people and, optionally, as one key=value line for scripts.
///
/// Reads only the settings and the `BenchRecord`, so it is the same report for every transport.
struct Report {
    let settings: BenchSettings
    let record: BenchRecord
    let baseline: ProcessSample?
    let windowStart: ProcessSample?
    let windowEnd: ProcessSample?
    let clientCPU: Int64

    var seconds: Double { Double(record.windowEnd - record.windowStart) / 1e9 }
    var repliesPerSecond: Double { seconds > 0 ? Double(record.repliesInWindow) / seconds : 0 }

    /// Server CPU microseconds per reply in the measured window.
    var serverMicrosecondsPerReply: Double? { serverSplitPerReply.map { $0.user + $0.system } }

    /// The server's CPU per reply, split into the part spent in user space and the part in the kernel.
    var serverSplitPerReply: (user: Double, system: Double)? {
        guard let windowStart, let windowEnd, record.repliesInWindow > 0 else { return nil }
        let replies = Double(record.repliesInWindow)
        return (Double(windowEnd.userMicroseconds - windowStart.userMicroseconds) / replies,
                Double(windowEnd.systemMicroseconds - windowStart.systemMicroseconds) / replies)
    }

    /// Resident KiB the server grew by per connected session.
    var kibPerSession: Double? {
        guard let baseline, let windowStart, record.connectedCount > 0 else { return nil }
        return Double(windowStart.residentKiB - baseline.residentKiB) / Double(record.connectedCount)
    }

    func print(machine: Bool) {
        Swift.print("mode=\(settings.mode.rawValue) transport=\(settings.transport.rawValue) clients=\(settings.clients) connected=\(record.connectedCount) failures=\(record.failureCount)")
        for failure in record.failures { Swift.print("  failure: \(failure)") }
        Swift.print("connect ms: p50 \(milliseconds(record.connectTimes.percentile(50))) p99 \(milliseconds(record.connectTimes.percentile(99))) max \(milliseconds(record.connectTimes.maximum))")
        switch settings.mode {
        case .rtt:
            Swift.print("replies: \(record.repliesInWindow) in \(format(seconds))s = \(format(repliesPerSecond))/s")
            Swift.print("latency ms: p50 \(milliseconds(record.latencies.percentile(50))) p99 \(milliseconds(record.latencies.percentile(99))) max \(milliseconds(record.latencies.maximum))")
            if let split = serverSplitPerReply {
                Swift.print("server CPU per reply: \(format(split.user + split.system)) µs (user \(format(split.user)), kernel \(format(split.system)))")
            }
            if record.repliesInWindow > 0 { Swift.print("client CPU per reply: \(format(Double(clientCPU) / Double(record.repliesInWindow))) µs") }
            if record.fanoutLatencies.count > 0 {
                let window = record.fanoutLatencies
                Swift.print("in flight within 1 s after a reminder boundary: \(window.count) replies, latency ms p50 \(milliseconds(window.percentile(50))) p99 \(milliseconds(window.percentile(99))) max \(milliseconds(window.maximum))")
            }
            if record.unanswered > 0 { Swift.print("unanswered at the end (waiting over 5 s): \(record.unanswered) clients") }
        case .idle:
            if let kib = kibPerSession { Swift.print("server RSS per session: \(format(kib)) KiB") }
            if let windowEnd, let windowStart {
                Swift.print("server CPU while idle: \(format(Double(windowEnd.cpuMicroseconds - windowStart.cpuMicroseconds) / 1000)) ms over \(format(seconds))s")
            }
        case .fanout:
            for (boundary, lags) in record.reminderLags.sorted(by: { $0.key < $1.key }) {
                Swift.print("reminder at \(boundary / 1_000_000_000): \(lags.count)/\(record.connectedCount) clients, lag ms p50 \(milliseconds(lags.percentile(50))) max \(milliseconds(lags.maximum))")
            }
            if let kib = kibPerSession { Swift.print("server RSS per session: \(format(kib)) KiB") }
        }
        if machine {
            var fields = ["mode=\(settings.mode.rawValue)", "transport=\(settings.transport.rawValue)", "clients=\(settings.clients)", "connected=\(record.connectedCount)",
                "failures=\(record.failureCount)", "replies_per_s=\(format(repliesPerSecond))"]
            if let value = record.latencies.percentile(50) { fields.append("p50_ms=\(milliseconds(value))") }
            if let value = record.latencies.percentile(99) { fields.append("p99_ms=\(milliseconds(value))") }
            if let value = serverMicrosecondsPerReply { fields.append("server_us_per_reply=\(format(value))") }
            if let split = serverSplitPerReply {
                fields.append("server_user_us_per_reply=\(format(split.user))")
                fields.append("server_sys_us_per_reply=\(format(split.system))")
            }
            if settings.mode == .rtt { fields.append("replies=\(record.replies) unanswered=\(record.unanswered)") }
            if record.fanoutLatencies.count > 0 {
                let window = record.fanoutLatencies
                fields.append("fanout_replies=\(window.count)")
                if let value = window.percentile(50) { fields.append("fanout_p50_ms=\(milliseconds(value))") }
                if let value = window.percentile(99) { fields.append("fanout_p99_ms=\(milliseconds(value))") }
                if let value = window.maximum { fields.append("fanout_max_ms=\(milliseconds(value))") }
            }
            if let value = kibPerSession { fields.append("kib_per_session=\(format(value))") }
            if let worst = record.reminderLags.values.compactMap(\.maximum).max() { fields.append("reminder_max_ms=\(milliseconds(worst))") }
            let reached = record.reminderLags.values.map(\.count).min()
            if let reached { fields.append("reminder_min_clients=\(reached)") }
            if !record.reminderLags.isEmpty {
                // Per boundary (Unix seconds): clients reached, lag p50 and max in ms — for merging several bench processes.
                let perBoundary = record.reminderLags.sorted { $0.key < $1.key }.map { boundary, lags in
                    "\(boundary / 1_000_000_000):\(lags.count):\(milliseconds(lags.percentile(50))):\(milliseconds(lags.maximum))"
                }
                fields.append("reminders=" + perBoundary.joined(separator: ","))
            }
            Swift.print("RESULT " + fields.joined(separator: " "))
        }
    }

    private func format(_ value: Double) -> String {
        let scaled = (value * 10).rounded() / 10
        return scaled == scaled.rounded() ? "\(Int(scaled))" : "\(scaled)"
    }
}
