import EngineIO

/// The name a dropped session has outside this process (Redis key names, the stored record, the channel
/// messages): a one-way function of its pid, so that whoever reads Redis or the channel sees which session a
/// message is about but cannot present its pid and take the session.
///
/// `handle = the first 32 lowercase hex characters of SHA-256("quench-recovery:" + pid)` (128 bits). Every node
/// computes the same handle from the pid a client presents, so no secret is shared between the nodes. An
/// unkeyed hash is enough because the pid is not guessable: quench makes it (``SessionID``, 120 random bits),
/// and a CONNECT whose pid is not such an id never reaches the store (``StoredSession/isSessionID(_:)``).
/// Computed once per drop and once per CONNECT with a pid, never per emit.
public struct RecoveryHandle: Hashable, Sendable, CustomStringConvertible {
    /// The domain prefix hashed before the pid.
    static let prefix = Array("quench-recovery:".utf8)
    /// Hex characters kept of the digest.
    static let length = 32

    /// The 32 lowercase hex characters.
    public let text: String

    /// The handle of `pid`.
    public init(pid: String) {
        text = String(SHA256.hex(Self.prefix + Array(pid.utf8)).prefix(Self.length))
    }

    /// A handle read from the store or the channel: nil unless it is 32 lowercase hex characters.
    public init?(text: String) {
        let bytes = text.utf8
        guard bytes.count == Self.length, bytes.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else { return nil }
        self.text = text
    }

    public var description: String { text }
}
