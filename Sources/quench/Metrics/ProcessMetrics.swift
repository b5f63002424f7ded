#if canImport(Glibc)
import Glibc
#endif

/// The standard `process_*` metrics every Prometheus client library exports, read from /proc/self
/// at each scrape (a few small reads, on the service thread, only when scraped): CPU seconds,
/// resident and virtual memory, open and maximum file descriptors, start time.
///
/// Works under the packaged unit's `ProcSubset=pid` (which hides /proc/stat): the start time comes
/// from /proc/self/stat's start tick plus the boot time derived from CLOCK_REALTIME − CLOCK_BOOTTIME.
struct ProcessMetrics: Equatable {
    var cpuSeconds: Double
    var residentBytes: Int
    var virtualBytes: Int
    var openFileDescriptors: Int
    var maxFileDescriptors: Int
    var startTimeSeconds: Double

    /// This process now; nil only if /proc is not mounted.
    static func current() -> ProcessMetrics? {
        guard let stat = readFile("/proc/self/stat"), let fields = statFields(stat) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let page = sysconf(Int32(_SC_PAGESIZE))
        guard fields.count > 21, let utime = Double(fields[11]), let stime = Double(fields[12]),
            let startTicks = Double(fields[19]), let virtualBytes = Int(fields[20]), let rssPages = Int(fields[21])
        else { return nil }
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        return ProcessMetrics(
            cpuSeconds: (utime + stime) / ticks,
            residentBytes: rssPages * page,
            virtualBytes: virtualBytes,
            openFileDescriptors: countOpenFileDescriptors(),
            maxFileDescriptors: Int(clamping: limit.rlim_cur),
            startTimeSeconds: bootTimeSeconds() + startTicks / ticks)
    }

    /// The fields of /proc/self/stat after the command name (which may hold spaces and parentheses,
    /// so it is skipped up to the last `)`): index 0 is the state (field 3 in proc(5)).
    static func statFields(_ text: [UInt8]) -> [String]? {
        guard let close = text.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        return text[(close + 1)...].split(whereSeparator: { $0 == 0x20 || $0 == 0x0A }).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Seconds since the epoch at which the machine booted.
    private static func bootTimeSeconds() -> Double {
        var realtime = timespec()
        var boottime = timespec()
        clock_gettime(CLOCK_REALTIME, &realtime)
        clock_gettime(CLOCK_BOOTTIME, &boottime)
        return Double(realtime.tv_sec - boottime.tv_sec) + Double(realtime.tv_nsec - boottime.tv_nsec) / 1e9
    }

    private static func countOpenFileDescriptors() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if UInt8(bitPattern: entry.pointee.d_name.0) != UInt8(ascii: ".") { count += 1 }
        }
        // The descriptor opendir itself holds is not one of the process's.
        return max(count - 1, 0)
    }

    /// A small file of /proc, whole (they report a size of 0, so read until end of file).
    private static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1024)
        while result.count < 64 * 1024 {
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got <= 0 { break }
            result.append(contentsOf: chunk[0..<got])
        }
        return result
    }
}
