import QuenchApp

/// The range every numeric or free-text flag accepts. `--help`, man/quench.1 and the README state the
/// same ranges; a value outside them exits 64 naming the flag.
///
/// Why bounds at all: a value the arithmetic downstream cannot hold (nanosecond deadlines, lws's
/// one-byte mountpoint length) used to trap instead of being refused, and no sane deployment needs more.
enum OptionRanges {
    /// TCP ports.
    static let port = 1...65535
    /// `--ping-interval` and `--ping-timeout`, in milliseconds: 1 ms to 24 h. Clients keep these in
    /// JavaScript timers, which hold at most about 24.8 days.
    static let heartbeatMilliseconds: ClosedRange<Int64> = 1...86_400_000
    /// `--reminder-interval`, in whole seconds when not 0: 1 s to 24 h (0 turns reminders off).
    static let reminderSeconds: ClosedRange<Int64> = 1...ReminderSchedule.maxIntervalSeconds
    /// `--drain-time`, in milliseconds: 0 to 5 min (systemd's stop timeout is 90 s by default; the unit
    /// must allow the drain plus a second).
    static let drainMilliseconds: ClosedRange<Int64> = 0...300_000
    /// `--max-open-files`: 256 (a few dozen clients beside the process's own files) to 1 048 576 (Linux's
    /// default `nr_open`, the most a process may be allowed).
    static let maxOpenFiles = 256...1_048_576
    /// `--recovery-window`, in milliseconds: 0 (off) to 24 h. Each dropped session is kept this long.
    static let recoveryWindowMilliseconds: ClosedRange<Int64> = 0...86_400_000
    /// `--recovery-log-bytes`: 64 KiB to 4 GiB per namespace, held whole in memory once full.
    static let recoveryLogBytes = 65_536...(1 << 32)
    /// `--max-payload`, in bytes: 1 B to 1 GB; a polling body or a message is held whole in memory.
    static let maxPayloadBytes = 1...1_000_000_000
    /// `--path`, in bytes, slashes included (lws keeps a mountpoint's length in one byte).
    static let pathBytes = 1...128
    /// `--over-budget-time`, in milliseconds: 1 s (a second of refusals is the shortest episode worth a
    /// disconnect; shorter would catch a person's burst) to 1 h.
    static let overBudgetMilliseconds: ClosedRange<Int64> = 1000...3_600_000
    /// `--max-sessions-per-address`, `--handshake-rate`, `--handshake-burst` and the per-client budgets'
    /// rates and bursts.
    static let perAddressCount = 1...1_000_000
    /// `--channel`, in bytes.
    static let channelBytes = 1...256
    /// The longest --channel with amqp://: AMQP names are at most 255 bytes, and the longest name quench
    /// makes from it is `quench.<channel>.to.<12-digit tag>`.
    static let amqpChannelBytes = 255 - "quench..to.".utf8.count - 12

    /// A duration as the user would write it back: whole hours, minutes or seconds when it is one, else ms.
    static func text(milliseconds: Int64) -> String {
        for (unit, size) in [("h", Int64(3_600_000)), ("m", 60_000), ("s", 1000)] where milliseconds % size == 0 && milliseconds >= size {
            return "\(milliseconds / size)\(unit)"
        }
        return "\(milliseconds)ms"
    }
}
