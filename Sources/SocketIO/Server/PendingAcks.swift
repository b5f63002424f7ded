/// The acknowledgements one socket still waits for, with a bound on how many.
///
/// Why: each `emit(…, ack:)` keeps its callback until the client answers, and a client that never answers
/// (or a remote node that asks for callbacks on every emit) would otherwise grow the table for as long as
/// the socket lives. Past ``limit`` the oldest is dropped to make room: it is the one least likely to be
/// answered still, and the newest emit is the one the application is waiting on. Drops are counted; the
/// socket logs the first of each episode (an episode ends when the client answers an acknowledgement).
///
/// Ack ids are allocated here, in increasing order, so the oldest waiting is the smallest id still held.
struct PendingAcks<Entry> {
    /// The most acknowledgements that wait at once.
    let limit: Int
    private var entries: [UInt64: Entry] = [:]
    private var nextID: UInt64 = 0
    /// No id below this one is still waiting.
    private var oldestCandidate: UInt64 = 0
    /// Acknowledgements dropped at the bound since the socket connected.
    private(set) var droppedTotal = 0
    /// Dropped since the client last answered one (the current episode).
    private(set) var droppedInEpisode = 0

    /// - Parameter limit: the most acknowledgements waiting at once (at least 1).
    init(limit: Int) {
        self.limit = max(limit, 1)
    }

    /// How many wait.
    var count: Int { entries.count }

    /// The ids waiting, oldest first, and the id the next entry gets: what moves to another node with the
    /// socket, so that ids stay unique across the move.
    var waitingIDs: [UInt64] { entries.keys.sorted() }
    var nextAckID: UInt64 { nextID }

    /// Takes over ids a socket still waited for on the node it came from (``waitingIDs``): each gets
    /// `entry(id)`, and new ids continue after `next`.
    mutating func adopt(_ ids: [UInt64], continuingAt next: UInt64, _ entry: (UInt64) -> Entry) {
        nextID = max(nextID, next)
        for id in ids.prefix(limit) {
            entries[id] = entry(id)
            nextID = max(nextID, id &+ 1)
        }
        oldestCandidate = entries.keys.min() ?? nextID
    }

    /// Keeps `entry` under a new ack id. At the bound, the oldest waiting entry is taken out first and
    /// returned as `evicted` (counted as a drop).
    mutating func add(_ entry: Entry) -> (id: UInt64, evicted: Entry?) {
        var evicted: Entry?
        if entries.count >= limit {
            while entries[oldestCandidate] == nil { oldestCandidate &+= 1 }
            evicted = entries.removeValue(forKey: oldestCandidate)
            droppedTotal += 1
            droppedInEpisode += 1
        }
        let id = nextID
        nextID &+= 1
        entries[id] = entry
        return (id, evicted)
    }

    /// Changes the entry waiting under `id` (to attach its timer), if it still waits.
    mutating func update(_ id: UInt64, _ change: (inout Entry) -> Void) {
        guard var entry = entries[id] else { return }
        change(&entry)
        entries[id] = entry
    }

    /// The entry the client just answered, taken out; nil for an id that is not waiting (never sent,
    /// answered already, dropped or timed out). An answer ends the current drop episode.
    mutating func answer(_ id: UInt64) -> Entry? {
        guard let entry = entries.removeValue(forKey: id) else { return nil }
        droppedInEpisode = 0
        return entry
    }

    /// Takes out the entry under `id` without ending the episode (its timeout came).
    mutating func expire(_ id: UInt64) -> Entry? {
        entries.removeValue(forKey: id)
    }

    /// Takes out every waiting entry (the socket disconnected), oldest first.
    mutating func removeAll() -> [Entry] {
        let taken = entries.sorted { $0.key < $1.key }.map(\.value)
        entries.removeAll()
        return taken
    }
}
