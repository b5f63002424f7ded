/// The payloads waiting for the publisher thread: at most ``capacity`` messages and ``byteBudget``
/// bytes. Past either, the oldest are dropped (on a pub/sub channel the newest matter most) and counted
/// until the count is taken, so that every drop reaches the log.
///
/// A value type with no lock of its own: each carrier's publisher keeps it behind its lock.
package struct PublishQueue {
    /// One message: its payload, and the channel when it is not the queue's own (a message for one node).
    package struct Item {
        package var payload: [UInt8]
        package var channel: [UInt8]? = nil
        package var count: Int { payload.count + (channel?.count ?? 0) }

        package init(payload: [UInt8], channel: [UInt8]? = nil) {
            self.payload = payload
            self.channel = channel
        }
    }

    /// The most messages that wait.
    package let capacity: Int
    /// The most bytes they may hold together.
    package let byteBudget: Int
    private var items: [Item] = []
    /// Index of the oldest waiting message in `items` (taking from the front without moving the rest).
    private var head = 0
    /// Bytes of the waiting messages.
    package private(set) var bytes = 0
    /// Messages dropped since ``takeDropped()`` was last called.
    package private(set) var dropped = 0

    /// - Parameters:
    ///   - capacity: the most messages that wait; default 10 000.
    ///   - byteBudget: the most bytes they hold together; default 64 MiB.
    package init(capacity: Int = 10_000, byteBudget: Int = 64 << 20) {
        self.capacity = capacity
        self.byteBudget = byteBudget
    }

    /// Messages waiting.
    package var count: Int { items.count - head }
    package var isEmpty: Bool { items.count == head }

    /// Adds `payload` at the back. Returns how many of the oldest were dropped to make room (a payload
    /// larger than the whole budget drops itself as well).
    package mutating func append(_ payload: [UInt8]) -> Int {
        append(Item(payload: payload))
    }

    package mutating func append(_ item: Item) -> Int {
        items.append(item)
        bytes += item.count
        return trim()
    }

    /// Adds `item` only if both bounds still hold with it (nothing is dropped); false when it does not fit.
    package mutating func appendIfRoom(_ item: Item) -> Bool {
        guard count < capacity, bytes + item.count <= byteBudget else { return false }
        items.append(item)
        bytes += item.count
        return true
    }

    /// Takes up to `limit` of the oldest messages.
    package mutating func takeBatch(limit: Int) -> [Item] {
        let end = min(items.count, head + limit)
        let batch = Array(items[head..<end])
        for index in head..<end { items[index] = Item(payload: []) }
        head = end
        for payload in batch { bytes -= payload.count }
        compact()
        return batch
    }

    /// Puts a batch that could not be sent back at the front, in its order. Returns how many messages were
    /// dropped to keep the bound (the oldest first, so from the batch itself).
    package mutating func putBack(_ batch: [Item]) -> Int {
        items = batch + items[head...]
        head = 0
        for payload in batch { bytes += payload.count }
        return trim()
    }

    /// How many were dropped since the last call; the count starts again from zero.
    package mutating func takeDropped() -> Int {
        defer { dropped = 0 }
        return dropped
    }

    /// Drops the oldest until both bounds hold.
    private mutating func trim() -> Int {
        var removed = 0
        while head < items.count, count > capacity || bytes > byteBudget {
            bytes -= items[head].count
            items[head] = Item(payload: [])
            head += 1
            removed += 1
        }
        dropped += removed
        compact()
        return removed
    }

    /// Gives back the slots in front of `head` once they are half the array (amortised O(1) per message).
    private mutating func compact() {
        if head == items.count {
            items.removeAll(keepingCapacity: items.count <= 4 * capacity)
            head = 0
        } else if head >= 1024, head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
    }
}
