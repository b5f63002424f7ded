/// The sweep order of a table whose entries expire a fixed time after they were added: keys in the order
/// they were added, with their time (never decreasing), so the sweep only ever looks at the front.
///
/// Entries the table lets go early (a session restored, or replaced) stay here until they reach the front
/// and are then skipped: the table says which entries are still its own (`isLive`), by key and time.
/// ``compact(liveCount:isLive:)`` bounds what is kept to about twice the live entries (plus 1,024), so a table
/// whose sessions are mostly restored early does not grow this without limit.
struct ExpiryOrder {
    private var entries: [(key: String, time: Int64)] = []
    private var head = 0

    /// Entries still here, the table's early leavers included (what ``compact(liveCount:isLive:)`` bounds).
    var count: Int { entries.count - head }

    /// The oldest entry, live or not.
    var first: (key: String, time: Int64)? { head < entries.count ? entries[head] : nil }

    mutating func append(_ key: String, _ time: Int64) { entries.append((key, time)) }

    /// Takes the oldest entry out (there must be one).
    mutating func removeFirst() -> (key: String, time: Int64) {
        head += 1
        return entries[head - 1]
    }

    /// The time of the oldest entry that is still the table's own; nil when none is.
    func firstLive(_ isLive: (String, Int64) -> Bool) -> Int64? {
        entries[head...].first { isLive($0.key, $0.time) }?.time
    }

    /// Frees the space of entries already swept, and drops early leavers once they outnumber the live ones.
    mutating func compact(liveCount: Int, isLive: (String, Int64) -> Bool) {
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024, head * 2 >= entries.count {
            entries.removeFirst(head)
            head = 0
        } else if entries.count - head > 2 * liveCount + 1024 {
            entries = entries[head...].filter { isLive($0.key, $0.time) }
            head = 0
        }
    }
}
