#if canImport(Glibc)
import Glibc
#endif

/// systemd's readiness and watchdog protocol (sd_notify(3)), written out: one `AF_UNIX` datagram of
/// `KEY=value` lines to the socket named by `NOTIFY_SOCKET`. It is a dozen lines, so quench does not
/// link libsystemd for it (one more run-time dependency for one `sendto`).
///
/// Inert when `NOTIFY_SOCKET` is unset (started by hand, or `Type=exec`). Thread-safe: every send is
/// one `sendto` on a socket that is never closed while the process lives.
struct SystemdNotifier: Sendable {
    private let socketFD: Int32
    private let address: sockaddr_un
    private let addressLength: socklen_t

    /// The notifier for this process, or nil when systemd asked for no notifications (or the socket
    /// path is unusable: longer than `sun_path`, neither absolute nor abstract).
    init?(environment: (String) -> String? = { name in getenv(name).map { String(cString: $0) } }) {
        guard let path = environment("NOTIFY_SOCKET"), path.hasPrefix("/") || path.hasPrefix("@") else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        // An abstract socket is named with a leading NUL, written "@" in the variable.
        if bytes[0] == UInt8(ascii: "@") { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        socketFD = fd
        self.address = address
        addressLength = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
    }

    /// Sends `state` (`READY=1`, `STATUS=…`, `STOPPING=1`, `WATCHDOG=1`); false if it could not be sent.
    /// Never blocks: the watchdog pings come from the service loop, and a receiver that stops reading
    /// (its queue full) must cost a lost notification, not a wedged loop.
    @discardableResult
    func notify(_ state: String) -> Bool {
        var address = self.address
        let sent = Array(state.utf8).withUnsafeBytes { payload in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(socketFD, payload.baseAddress, payload.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT), $0, addressLength)
                }
            }
        }
        return sent == state.utf8.count
    }

    /// Half of `WATCHDOG_USEC` in milliseconds when the watchdog is on for this process (`WatchdogSec=`
    /// set, and `WATCHDOG_PID` unset or ours), as sd_watchdog_enabled(3) decides; nil otherwise.
    static func watchdogPingMilliseconds(environment: (String) -> String? = { name in getenv(name).map { String(cString: $0) } }) -> Int64? {
        guard let text = environment("WATCHDOG_USEC"), let microseconds = Int64(text), microseconds > 0 else { return nil }
        if let pid = environment("WATCHDOG_PID"), Int32(pid) != getpid() { return nil }
        return max(microseconds / 2000, 1)
    }
}
