#if canImport(Glibc)
import Glibc
#endif

/// This process's host name and pid, as a monitor shows them (the Admin UI's server stats).
public enum HostIdentity {
    /// The host name (`gethostname`), or "localhost" when it cannot be read.
    public static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// This process's id.
    public static func pid() -> Int { Int(getpid()) }
}
