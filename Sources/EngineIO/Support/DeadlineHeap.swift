/// A binary min-heap of deadlines: every session's next heartbeat event in one structure, so the
/// binding needs one timer, not one per session.
///
/// Entries are never removed early: a session that reschedules bumps its stamp, and the stale entry is
/// skipped when it surfaces. Each session has at most two live entries, so the heap stays O(sessions).
struct DeadlineHeap<Element> {
    struct Entry {
        var deadline: Int64
        var stamp: UInt32
        var element: Element
    }

    private var entries: [Entry] = []

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }
    /// The earliest deadline, if any.
    var earliest: Int64? { entries.first?.deadline }

    mutating func insert(_ element: Element, deadline: Int64, stamp: UInt32) {
        entries.append(Entry(deadline: deadline, stamp: stamp, element: element))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].deadline < entries[parent].deadline else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest entry if its deadline is at or before `now`.
    mutating func popDue(now: Int64) -> Entry? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            siftDown(from: 0)
        }
        return first
    }

    mutating func removeAll() { entries.removeAll() }

    /// Calls `body` with every element, in no particular order.
    func forEachElement(_ body: (Element) -> Void) {
        for entry in entries { body(entry.element) }
    }

    /// Moves the entry at `index` down until both its children are later than it.
    private mutating func siftDown(from index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count, entries[left].deadline < entries[smallest].deadline { smallest = left }
            if right < entries.count, entries[right].deadline < entries[smallest].deadline { smallest = right }
            if smallest == parent { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }
}

extension DeadlineHeap {
    /// Drops every entry `isStale` says is dead and restores the heap order: O(n), for an occasional sweep.
    mutating func removeAll(where isStale: (Entry) -> Bool) {
        entries.removeAll(where: isStale)
        guard entries.count > 1 else { return }
        for start in stride(from: entries.count / 2 - 1, through: 0, by: -1) {
            siftDown(from: start)
        }
    }
}
