/// The descriptor limit on accepting: a connection accepted at ``pauseAt`` connections takes the listening
/// socket out of the poll set, so the rest wait in the kernel's listen queue instead of in `accept()`.
/// The connection itself is kept and answered (503 `Server full`, being past the connection limit): its
/// descriptor is already taken, and the reserve below the open-files limit covers it.
///
/// Why: lws accepts until `accept()` fails, and on EMFILE logs and retries at once, spinning a core
/// (its own pause, "accept modulation", works only when lws's descriptors are all the process has).
/// lws puts the listening socket back into the poll set whenever a connection closes, so at the limit
/// each close lets in one more client, which pauses the listener again. This value decides, and makes one
/// log line per episode out of it: an episode ends when the connections have fallen to three quarters of
/// ``pauseAt``. Service thread; a plain value, tested without lws.
struct AcceptLimit {
    /// Connections at which new ones are turned away.
    let pauseAt: Int
    /// Connections at or below which an episode is over.
    let resumeAt: Int
    /// Whether an episode is in progress (its first line logged, its last not yet).
    private(set) var paused = false
    /// Connections accepted at the limit in the current episode (each paused the listener again).
    private(set) var acceptedAtLimit = 0

    /// What the caller should do about a change.
    enum Event: Equatable {
        /// An episode begins: log it and take the listening socket out of the poll set.
        case paused
        /// The episode is over after `acceptedAtLimit` connections came in at the limit: log it.
        case resumed(acceptedAtLimit: Int)
    }

    init(pauseAt: Int) {
        self.pauseAt = pauseAt
        resumeAt = pauseAt * 3 / 4
    }

    /// A connection was just accepted while `connections` others are open: whether to pause the listener,
    /// and whether an episode begins.
    mutating func accepted(whileOpen connections: Int) -> (pause: Bool, event: Event?) {
        guard connections >= pauseAt else { return (false, nil) }
        acceptedAtLimit += 1
        if paused { return (true, nil) }
        paused = true
        return (true, .paused)
    }

    /// A connection closed, leaving `connections`: whether the episode is over.
    mutating func closed(leaving connections: Int) -> Event? {
        guard paused, connections <= resumeAt else { return nil }
        paused = false
        defer { acceptedAtLimit = 0 }
        return .resumed(acceptedAtLimit: acceptedAtLimit)
    }
}
