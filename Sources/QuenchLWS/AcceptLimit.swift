/// The descriptor limit on accepting: past ``pauseAt`` connections a newly accepted one is closed at once
/// and the listening socket leaves the poll set, so the rest wait in the kernel's listen queue.
///
/// Why: lws accepts until `accept()` fails, and on EMFILE logs and retries at once, spinning a core
/// (its own pause, "accept modulation", works only when lws's descriptors are all the process has).
/// lws puts the listening socket back into the poll set whenever a connection closes, so at the limit
/// each close lets in one client and turns one away, as nginx does when out of connections. This value
/// decides, and makes one log line per episode out of it: an episode ends when the connections have
/// fallen to three quarters of ``pauseAt``. Service thread; a plain value, tested without lws.
struct AcceptLimit {
    /// Connections at which new ones are turned away.
    let pauseAt: Int
    /// Connections at or below which an episode is over.
    let resumeAt: Int
    /// Whether an episode is in progress (its first line logged, its last not yet).
    private(set) var paused = false
    /// Connections turned away in the current episode.
    private(set) var refused = 0

    /// What the caller should do about a change.
    enum Event: Equatable {
        /// An episode begins: log it and take the listening socket out of the poll set.
        case paused
        /// The episode is over after `refused` connections were turned away: log it.
        case resumed(refused: Int)
    }

    init(pauseAt: Int) {
        self.pauseAt = pauseAt
        resumeAt = pauseAt * 3 / 4
    }

    /// A connection was just accepted while `connections` others are open: whether to keep it, and
    /// whether an episode begins.
    mutating func accepted(whileOpen connections: Int) -> (admit: Bool, event: Event?) {
        guard connections >= pauseAt else { return (true, nil) }
        refused += 1
        if paused { return (false, nil) }
        paused = true
        return (false, .paused)
    }

    /// A connection closed, leaving `connections`: whether the episode is over.
    mutating func closed(leaving connections: Int) -> Event? {
        guard paused, connections <= resumeAt else { return nil }
        paused = false
        defer { refused = 0 }
        return .resumed(refused: refused)
    }
}
