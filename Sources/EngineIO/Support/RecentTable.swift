/// A table of at most ``capacity`` entries that forgets the one used least recently when a new key needs
/// room: per-address bookkeeping whose memory a stranger with many addresses cannot grow.
///
/// Slots live in arrays that never grow past ``capacity``; a doubly linked list through them (by index)
/// keeps the order of use, so a lookup, a use and an eviction each cost one hash and a few stores.
/// Nothing is removed except by eviction. Not thread-safe: its owner confines it.
struct RecentTable<Value> {
    /// The most entries held.
    let capacity: Int
    private var slots: [String: Int] = [:]
    private var keys: [String] = []
    private var values: [Value] = []
    /// Per slot, the slot used just before it (toward ``oldest``) and just after it (toward ``newest``); -1 for none.
    private var older: [Int] = []
    private var newer: [Int] = []
    private var newest = -1
    private var oldest = -1

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
    }

    /// Entries held now.
    var count: Int { slots.count }

    /// The value of `key`, without counting as a use.
    func peek(_ key: String) -> Value? {
        slots[key].map { values[$0] }
    }

    /// Runs `body` on the value of `key` and marks it used most recently. A missing key gets `make()`; when
    /// the table is full it takes the slot of the least recently used entry, which is returned.
    mutating func use<Result>(
        _ key: String, default make: () -> Value, _ body: (inout Value) -> Result
    ) -> (result: Result, evicted: (key: String, value: Value)?) {
        if let slot = slots[key] {
            moveToNewest(slot)
            return (body(&values[slot]), nil)
        }
        var evicted: (key: String, value: Value)?
        let slot: Int
        if keys.count < capacity {
            slot = keys.count
            keys.append(key)
            values.append(make())
            older.append(-1)
            newer.append(-1)
        } else {
            slot = oldest
            evicted = (keys[slot], values[slot])
            slots.removeValue(forKey: keys[slot])
            unlink(slot)
            keys[slot] = key
            values[slot] = make()
        }
        slots[key] = slot
        linkAsNewest(slot)
        return (body(&values[slot]), evicted)
    }

    /// Runs `body` on the value of `key` if it is held, without counting as a use.
    mutating func modify(_ key: String, _ body: (inout Value) -> Void) {
        guard let slot = slots[key] else { return }
        body(&values[slot])
    }

    /// The keys from the least to the most recently used (for tests).
    var keysByAge: [String] {
        var result: [String] = []
        var slot = oldest
        while slot >= 0 {
            result.append(keys[slot])
            slot = newer[slot]
        }
        return result
    }

    private mutating func moveToNewest(_ slot: Int) {
        guard slot != newest else { return }
        unlink(slot)
        linkAsNewest(slot)
    }

    private mutating func unlink(_ slot: Int) {
        let before = older[slot]
        let after = newer[slot]
        if before >= 0 { newer[before] = after } else { oldest = after }
        if after >= 0 { older[after] = before } else { newest = before }
        older[slot] = -1
        newer[slot] = -1
    }

    private mutating func linkAsNewest(_ slot: Int) {
        older[slot] = newest
        newer[slot] = -1
        if newest >= 0 { newer[newest] = slot } else { oldest = slot }
        newest = slot
    }
}
