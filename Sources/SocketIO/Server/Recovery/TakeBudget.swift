import EngineIO

/// How many recovery-store takes a client address may cost: a token bucket per peer address, so that a flood
/// of CONNECTs carrying random well-formed pids costs Redis a bounded amount of work per address and second.
///
/// A take spends a token when it is sent; a take that finds a session gives it back (its answer is
/// ``StoreTakeAnswer/found(_:)`` or ``StoreTakeAnswer/taking(record:recorder:)``). So the budget bounds the takes
/// that find nothing, which is what a flood is made of, while a crowd of real clients behind one proxy or NAT
/// that comes back after a network blip finds its sessions and is not held back by it (at most ``burst`` of
/// its takes are in flight at once). A CONNECT past the budget is an ordinary new session at once, which is
/// what a take that finds nothing gives anyway.
///
/// Bounded itself: at most ``maxAddresses`` buckets. A bucket that has filled up again is the same as none
/// and goes first; when every bucket is still draining, a quarter of them go (their addresses start afresh:
/// past that many addresses at once the per-address bound gives way before the table grows). Service thread only.
struct TakeBudget {
    /// Takes an address may have sent, unanswered or found nothing, before it waits for the refill.
    static let burst = 100
    /// Takes an address gets back per second.
    static let perSecond = 20
    /// Addresses tracked at once.
    static let maxAddresses = 10_000

    let burst: Int
    let perSecond: Int
    let maxAddresses: Int
    private var buckets: [String: TokenBucket] = [:]

    /// - Parameters:
    ///   - burst: takes an address may spend before it waits; default 100.
    ///   - perSecond: takes an address gets back per second; default 20.
    ///   - maxAddresses: addresses tracked at once; default 10,000.
    init(burst: Int = Self.burst, perSecond: Int = Self.perSecond, maxAddresses: Int = Self.maxAddresses) {
        self.burst = max(burst, 1)
        self.perSecond = max(perSecond, 1)
        self.maxAddresses = max(maxAddresses, 4)
    }

    /// Addresses tracked now.
    var count: Int { buckets.count }

    /// How often a refusal is logged: one `info` line per ``logInterval`` ms at most, counting the others.
    static let logInterval: Int64 = 10_000
    private var refusedSinceLine = 0
    private var lastLine: Int64?

    /// Counts a CONNECT refused at the budget; returns how many to report when a line is due now (this one and
    /// those not logged since the last line), nil otherwise.
    mutating func noteRefusal(now: Int64) -> Int? {
        refusedSinceLine += 1
        if let lastLine, now - lastLine < Self.logInterval { return nil }
        lastLine = now
        defer { refusedSinceLine = 0 }
        return refusedSinceLine
    }

    /// Spends one take for `address` at `now` (milliseconds); false when its budget is spent.
    mutating func spend(_ address: String, now: Int64) -> Bool {
        var bucket = buckets[address] ?? TokenBucket(perSecond: perSecond, burst: burst, now: now)
        guard bucket.take(now: now) else {
            buckets[address] = bucket
            return false
        }
        if buckets[address] == nil, buckets.count >= maxAddresses { makeRoom(now: now) }
        buckets[address] = bucket
        return true
    }

    /// Gives back a take of `address` that found a session.
    mutating func refund(_ address: String, now: Int64) {
        buckets[address]?.giveBack(now: now)  // none: full again, and let go meanwhile
    }

    private mutating func makeRoom(now: Int64) {
        buckets = buckets.filter { entry in
            var bucket = entry.value
            return !bucket.isFull(now: now)
        }
        guard buckets.count >= maxAddresses else { return }
        var excess = buckets.count - maxAddresses * 3 / 4
        for address in buckets.keys {
            guard excess > 0 else { break }
            buckets.removeValue(forKey: address)
            excess -= 1
        }
    }
}
