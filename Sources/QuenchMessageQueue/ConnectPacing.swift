#if canImport(Glibc)
import Glibc
#endif
import EngineIO

/// When the next attempt to connect to the broker may start. One per connection owner (the publisher, the
/// subscriber, the recovery store), kept by that owner's thread.
///
/// Every failure goes through one ``RetryBackoff`` (0.5 s doubling to 10 s): a refused or timed-out connect,
/// a peer that does not answer PING with PONG (not Redis, or a Redis stopped with SIGSTOP whose kernel still
/// accepts connections), a refused AUTH, and a connection that breaks less than ``stableAfter`` ms after it
/// was made. Only a connection that stayed up that long earns a fresh start (one attempt at once, then the
/// delays from the first): a peer that answers the handshake and then fails every command is retried at
/// most every 10 s, not twice a second for ever.
///
/// Pure bookkeeping: times are passed in (monotonic milliseconds), so tests drive it without sleeping.
package struct ConnectPacing: Sendable, Equatable {
    /// How long a connection must stay up before its end no longer counts as a failure, in milliseconds.
    package static let stableAfter: Int64 = 10_000
    private var backoff: RetryBackoff
    /// No attempt before this time (monotonic milliseconds).
    package private(set) var notBefore: Int64 = 0
    /// When the connection made last came up; nil while none is up.
    private var upSince: Int64?

    /// - Parameters:
    ///   - backoff: the delays; default 0.5 s doubling to 10 s.
    package init(backoff: RetryBackoff = RetryBackoff()) { self.backoff = backoff }

    /// Milliseconds to wait at `now` before the next attempt (0: go).
    package func delay(at now: Int64) -> Int64 { max(0, notBefore - now) }

    /// The connection made last is gone (the owner is about to make another). One that stayed up
    /// ``stableAfter`` ms may be made again at once, and the backoff starts afresh for the failures that may
    /// follow; one that ended sooner is a failed attempt.
    package mutating func connectionEnded(at now: Int64) {
        guard let up = upSince else { return }
        upSince = nil
        if now - up >= Self.stableAfter {
            backoff.reset()
            notBefore = now
        } else {
            notBefore = now + backoff.next()
        }
    }

    /// An attempt failed; returns the delay before the next one.
    @discardableResult
    package mutating func attemptFailed(at now: Int64) -> Int64 {
        let delay = backoff.next()
        notBefore = now + delay
        return delay
    }

    /// An attempt succeeded: Redis answered PING (after AUTH and SELECT).
    package mutating func attemptSucceeded(at now: Int64) { upSince = now }

    /// The next attempt may start at once (another connection to the same Redis just succeeded); the
    /// backoff keeps its place for the failures that may follow.
    package mutating func allowNow() { notBefore = 0 }

    /// The monotonic clock, in milliseconds.
    package static func now() -> Int64 { MonotonicMilliseconds.now() }
}
