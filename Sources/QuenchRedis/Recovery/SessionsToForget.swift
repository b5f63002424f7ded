/// The dropped sessions the recovery store must delete from Redis once it answers again: each had an append
/// (or a delete) that may not have reached Redis, so restoring it could leave a hole. Oldest first.
///
/// Known by their handles' text. Bounded like every other queue: at most ``limit`` handles. Past it the
/// oldest is let go and counted; such a session is not deleted by this node, so if Redis still holds its
/// record when it is back, and its client comes back within the window, it could be restored without what the failed append carried. The bound is
/// far above what a node records for (100,000 dropped sessions per namespace), so it is only reached when
/// Redis stays away while many sessions drop, or when handles from CONNECTs pile up behind a full store queue;
/// each episode is logged (``insert(_:)`` says when one begins, ``remove(_:)`` when it ends). Not thread-safe:
/// the store guards it with its lock.
struct SessionsToForget {
    /// The most handles kept (the store's default: 100,000).
    let limit: Int
    /// Handle → the number its entry in `order` carries (a handle inserted again after it was removed gets a new one).
    private var live: [String: UInt64] = [:]
    private var order: [(handle: String, number: UInt64)] = []
    private var head = 0
    private var nextNumber: UInt64 = 0
    /// Handles let go at the bound since the list was last empty (the episode's count).
    private(set) var droppedInEpisode: UInt64 = 0
    /// Handles let go at the bound, ever.
    private(set) var droppedTotal: UInt64 = 0

    init(limit: Int) { self.limit = max(limit, 1) }

    var isEmpty: Bool { live.isEmpty }
    var count: Int { live.count }

    /// Adds `handle` (nothing when it is there already); at the bound the oldest goes first. Returns true when that
    /// began an episode of dropping (the caller logs it once).
    @discardableResult
    mutating func insert(_ handle: String) -> Bool {
        guard live[handle] == nil else { return false }
        var began = false
        if live.count >= limit, let oldest = oldestLive() {
            live.removeValue(forKey: oldest)
            began = droppedInEpisode == 0
            droppedInEpisode &+= 1
            droppedTotal &+= 1
        }
        nextNumber &+= 1
        live[handle] = nextNumber
        order.append((handle, nextNumber))
        compact()
        return began
    }

    /// Up to `count` handles, oldest first, left in the list until ``remove(_:)`` (once their delete succeeded).
    func oldest(_ count: Int) -> [String] {
        var found: [String] = []
        var index = head
        while found.count < count, index < order.count {
            let entry = order[index]
            if live[entry.handle] == entry.number { found.append(entry.handle) }
            index += 1
        }
        return found
    }

    /// Takes `handles` out (their sessions are deleted). Returns the episode's count of handles let go at the bound
    /// when this emptied the list after an episode (the caller logs it), nil otherwise.
    mutating func remove(_ handles: [String]) -> UInt64? {
        for handle in handles { live.removeValue(forKey: handle) }
        compact()
        guard live.isEmpty, droppedInEpisode > 0 else { return nil }
        defer { droppedInEpisode = 0 }
        return droppedInEpisode
    }

    private mutating func oldestLive() -> String? {
        while head < order.count {
            let entry = order[head]
            if live[entry.handle] == entry.number { return entry.handle }
            head += 1
        }
        return nil
    }

    /// Skips entries already removed at the front, and frees the space of those behind once they are most of it.
    private mutating func compact() {
        while head < order.count, live[order[head].handle] != order[head].number { head += 1 }
        if head == order.count {
            order.removeAll(keepingCapacity: order.count <= 4096)
            head = 0
        } else if order.count - head > 2 * live.count + 1024 || (head >= 1024 && head * 2 >= order.count) {
            order = order[head...].filter { live[$0.handle] == $0.number }
            head = 0
        }
    }
}
