#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchSystem

/// The log sink when standard error is the systemd journal: each line gets its syslog priority in
/// front (`<3>` error, `<4>` warn, `<6>` info, `<7>` debug; sd-daemon(3)), which journald strips and
/// stores, so `journalctl -p warning -u quench` shows warnings and errors only. quench's lines carry
/// no timestamp of their own (the journal records one), so nothing else changes.
struct JournalLog: LogSink {
    private let standardError = StandardErrorLog()

    func write(_ line: String) { standardError.write(Self.prefixed(line)) }

    /// `line` (level word first, as ``LogSink`` promises) with its priority in front; a line that
    /// starts with no level word is written as a notice (`<5>`) rather than guessed at.
    static func prefixed(_ line: String) -> String {
        let priority: Int
        if line.hasPrefix("error ") {
            priority = 3
        } else if line.hasPrefix("warn ") {
            priority = 4
        } else if line.hasPrefix("info ") {
            priority = 6
        } else if line.hasPrefix("debug ") {
            priority = 7
        } else {
            priority = 5
        }
        return "<\(priority)>" + line
    }

    /// Whether file descriptor 2 is the stream systemd named in `JOURNAL_STREAM` (`device:inode`, in
    /// decimal): only then is it the journal. A shell started from the service, or a redirection, hands
    /// the variable on with another standard error, which must get plain lines.
    static func standardErrorIsJournal(
        environment: (String) -> String? = { name in getenv(name).map { String(cString: $0) } }
    ) -> Bool {
        guard let value = environment("JOURNAL_STREAM") else { return false }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(2, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    /// The sink for this process: the journal's, or plain standard error.
    static func sinkForStandardError() -> any LogSink {
        standardErrorIsJournal() ? JournalLog() : StandardErrorLog()
    }
}
