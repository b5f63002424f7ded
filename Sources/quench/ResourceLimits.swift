#if canImport(Glibc)
import Glibc
#endif
import EngineIO

/// Sets the open-files limit to `--max-open-files` (65,536 by default), or to the hard limit when that is
/// lower. Every connection is a file descriptor, and the usual soft limit (1024) would cap the server far
/// below what it can hold.
///
/// Why not simply the hard limit, as servers often do: libwebsockets sizes its descriptor table from this
/// limit when the context is made, and 4.1.6 as Debian builds it checks on every connection close that no
/// entry still names the closed descriptor by scanning the whole table, twice (its sanity checks in
/// `unix-fds.c`). Measured here at about 0.6 ns per entry and close: 12 µs at 20,000, 40 µs at 65,536, but
/// 330 µs at systemd's default hard limit for services (524,288) and 650 µs at a container's 1,048,576,
/// when a whole polling request costs about 60 µs. So the limit is what the operator asks for, not the most
/// the system allows.
enum ResourceLimits {
    /// `--max-open-files` when not given.
    static let defaultOpenFiles = 65_536

    /// - Parameters:
    ///   - wanted: the limit to set.
    ///   - asked: whether the operator gave it (a hard limit below the default is no news: no line then).
    ///   - log: where a limit that cannot be had is said.
    static func setOpenFiles(_ wanted: Int, asked: Bool, log: EngineIO.Logger) {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let previous = limit.rlim_cur
        let target = min(rlim_t(wanted), limit.rlim_max)
        if target < rlim_t(wanted), asked {
            log.info("open files limit: the hard limit (\(limit.rlim_max)) is below --max-open-files \(wanted); using \(limit.rlim_max)")
        }
        guard target != previous else { return }
        limit.rlim_cur = target
        if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            log.debug("open files limit set from \(previous) to \(target)")
        } else {
            log.warn("open files limit: cannot set \(target) (\(String(cString: strerror(errno)))); it stays \(previous)")
        }
    }
}
