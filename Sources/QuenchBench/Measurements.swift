import CBenchSystem

/// Monotonic and wall-clock time in nanoseconds.
enum Clock {
    static func monotonic() -> Int64 { read(CLOCK_MONOTONIC) }
    static func wall() -> Int64 { read(CLOCK_REALTIME) }

    private static func read(_ clock: clockid_t) -> Int64 {
        var spec = timespec()
        clock_gettime(clock, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}

/// Latency samples (nanoseconds) and their percentiles.
struct LatencySamples {
    private(set) var values: [Int64] = []

    mutating func add(_ nanoseconds: Int64) { values.append(nanoseconds) }
    var count: Int { values.count }

    /// The p-th percentile (0...100), nearest rank; nil without samples.
    func percentile(_ p: Double) -> Int64? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    var maximum: Int64? { values.max() }
}

/// What /proc says about a process: CPU time used and resident memory.
struct ProcessSample {
    /// CPU time in user space, in microseconds.
    let userMicroseconds: Int64
    /// CPU time in the kernel on the process's behalf (system calls, and the loopback's TCP work they do), in
    /// microseconds: kept apart because it bounds what any server, however lean its own code, can save.
    let systemMicroseconds: Int64
    /// User + system CPU time, in microseconds.
    var cpuMicroseconds: Int64 { userMicroseconds + systemMicroseconds }
    /// Resident set size, in KiB.
    let residentKiB: Int64

    /// Reads /proc/PID/stat and /proc/PID/status; nil if the process is gone.
    static func read(pid: Int32) -> ProcessSample? {
        guard let stat = readFile("/proc/\(pid)/stat"), let status = readFile("/proc/\(pid)/status") else { return nil }
        // Fields after the command name (which may contain spaces) start after the last ')'.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
        guard fields.count > 12, let user = Int64(fields[11]), let system = Int64(fields[12]) else { return nil }
        let ticks = Int64(sysconf(Int32(_SC_CLK_TCK)))
        var rss: Int64 = 0
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            rss = Int64(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return ProcessSample(userMicroseconds: user * 1_000_000 / ticks, systemMicroseconds: system * 1_000_000 / ticks, residentKiB: rss)
    }

    /// CPU time this process (the bench client) has used, in microseconds.
    static func selfCPUMicroseconds() -> Int64 {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Int64(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1_000_000 + Int64(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
    }

    private static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Formats nanoseconds as milliseconds with two decimals.
func milliseconds(_ nanoseconds: Int64?) -> String {
    guard let nanoseconds else { return "-" }
    let hundredths = (nanoseconds + 5_000) / 10_000
    return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
}
