/// What connection state recovery did in one namespace, for `/metrics`: an operator tuning the window or the
/// log's bytes needs to see how many clients came back whole, and why the others did not.
public struct RecoveryCounts: Sendable, Equatable {
    /// Sessions recovered from this node's memory.
    public var restoredHere = 0
    /// Sessions recovered from the store (dropped here or on another node, through Redis).
    public var restoredFromStore = 0
    /// CONNECTs that asked for a session and got a new one instead, by why.
    public var refused: [RecoveryRefusalKind: Int] = [:]
    /// Dropped sessions this node keeps (in memory) or records for (in the store) now.
    public var kept = 0
    /// Dropped sessions not kept because a bound was reached (their clients will get new sessions).
    public var droppedAtBound = 0
    /// Kept sessions dropped because their address group reached its own bound (that address's oldest).
    public var droppedAtAddressBound = 0

    mutating func refuse(_ kind: RecoveryRefusalKind) { refused[kind, default: 0] &+= 1 }
}

/// Why a CONNECT asking for recovery got a new session, in few enough kinds to be a metric label.
public enum RecoveryRefusalKind: String, CaseIterable, Sendable {
    /// No session kept under that pid (never was, already recovered, or the store's keys expired).
    case unknownSession = "unknown_session"
    /// The window passed (kept in memory, so known to have expired).
    case expired
    /// The offset is unknown, or older than what the log still holds.
    case offset
    /// The session's sid is connected already.
    case sidConnected = "sid_connected"
    /// The store could not be asked in time (Redis down or slow).
    case storeUnavailable = "store_unavailable"
    /// The node recording for the session is gone, or none took it over: what it missed is unknown.
    case recorderGone = "recorder_gone"
    /// It missed more than the per-session bound holds.
    case tooMuchMissed = "too_much_missed"
    /// The stored record or a stored packet could not be read.
    case unreadable
    /// Its address sent more takes that found nothing than its budget allows (``TakeBudget``): not asked.
    case throttled

    init(_ refusal: RecoveryRefusal) {
        switch refusal {
        case .unknownSession: self = .unknownSession
        case .expired: self = .expired
        case .offsetDropped, .offsetUnknown: self = .offset
        }
    }
}
