#if canImport(Glibc)
import Glibc
#endif
import EngineIO

/// How much memory this process may use, for the default of `--max-buffered-total`: the machine's physical
/// memory (sysconf), or the control group's limit (cgroup v2 `memory.max`, as systemd's `MemoryMax=` or a
/// container sets it) when that is smaller.
enum PhysicalMemory {
    static var bytes: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        let pageSize = sysconf(Int32(_SC_PAGESIZE))
        var total = pages > 0 && pageSize > 0 ? pages.multipliedReportingOverflow(by: pageSize).partialValue : Int.max
        if let cgroup = controlGroupLimit, cgroup < total { total = cgroup }
        return total
    }

    /// `--max-buffered-total`'s default: ``OutboundMemory/defaultLimit(physicalBytes:)`` of ``bytes`` (a
    /// quarter, 256 MiB to 16 GiB), and never below `maxBuffered`.
    static func defaultMaxBufferedTotal(maxBuffered: Int) -> Int {
        max(OutboundMemory.defaultLimit(physicalBytes: bytes), maxBuffered)
    }

    /// The limit in /sys/fs/cgroup/memory.max (the unified hierarchy; the process's own group is the root
    /// of its namespace in a container, and systemd units get theirs mounted the same way), or nil when
    /// there is none ("max") or it cannot be read.
    private static var controlGroupLimit: Int? {
        guard let file = fopen("/sys/fs/cgroup/memory.max", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 32)
        guard fgets(&line, Int32(line.count), file) != nil else { return nil }
        let text = String(decoding: line.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return Int(text)
    }
}
