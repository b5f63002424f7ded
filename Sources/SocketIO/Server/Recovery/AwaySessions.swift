/// The dropped sessions this node records for while they are away, with a recovery store: its own until a
/// client comes back (anywhere), and those a stopping node handed over to it. An emit that reaches one is
/// appended to the store for it, so the node the client comes back to can give it what it missed.
///
/// Found by room (a sid is a room): an emit costs one lookup per target room, or a pass over every away
/// session for an emit to the whole namespace. A reply to a connected socket never comes here.
///
/// Bounded: at most ``limit`` sessions (past it a dropped session is not kept: its client gets a new
/// session), each for the window after it was added, and at most ``byteLimit`` bytes appended per session
/// (past it the session is made unrecoverable, never delivered with a hole). Service thread only.
struct AwaySessions {
    struct Entry {
        let pid: String
        let sid: String
        /// Named rooms (not the sid room).
        let rooms: [String]
        /// The node it was taken over from when that node stopped (appends go to the adopter's list); nil
        /// for this node's own.
        let adoptedFrom: String?
        let expiresAt: Int64
        /// Bytes appended for it so far.
        var bytes = 0
    }

    let limit: Int
    let byteLimit: Int
    private var byPID: [String: Entry] = [:]
    private var byRoom: [String: Set<String>] = [:]
    /// Pids in the order added, by expiry time (never decreasing).
    private var order = ExpiryOrder()

    init(limit: Int, byteLimit: Int) {
        self.limit = max(limit, 1)
        self.byteLimit = byteLimit
    }

    var count: Int { byPID.count }
    var isEmpty: Bool { byPID.isEmpty }
    var all: [Entry] { Array(byPID.values) }

    func entry(_ pid: String) -> Entry? { byPID[pid] }

    /// Adds `entry` unless the bound is reached (then false).
    mutating func add(_ entry: Entry) -> Bool {
        guard byPID[entry.pid] == nil else { return true }
        guard byPID.count < limit else { return false }
        byPID[entry.pid] = entry
        for room in [entry.sid] + entry.rooms { byRoom[room, default: []].insert(entry.pid) }
        order.append(entry.pid, entry.expiresAt)
        return true
    }

    @discardableResult
    mutating func remove(_ pid: String) -> Entry? {
        guard let entry = byPID.removeValue(forKey: pid) else { return nil }
        for room in [entry.sid] + entry.rooms {
            byRoom[room]?.remove(pid)
            if byRoom[room]?.isEmpty == true { byRoom.removeValue(forKey: room) }
        }
        order.compact(liveCount: byPID.count, isLive: isLive)
        return entry
    }

    /// Drops the sessions whose window has passed.
    mutating func removeExpired(now: Int64) {
        while let (_, expiresAt) = order.first, expiresAt < now {
            let (pid, _) = order.removeFirst()
            if isLive(pid, expiresAt) { remove(pid) }
        }
        order.compact(liveCount: byPID.count, isLive: isLive)
    }

    /// Whether the order's entry (`pid`, `expiresAt`) is of the session recorded for now.
    private func isLive(_ pid: String, _ expiresAt: Int64) -> Bool { byPID[pid]?.expiresAt == expiresAt }

    /// The pids an emit to `rooms` (nil: everyone) skipping the sids in `skip` reaches.
    func reached(rooms: [String]?, skip: [String]) -> [String] {
        var found: [String] = []
        func consider(_ entry: Entry) {
            guard skip.isEmpty || !([entry.sid] + entry.rooms).contains(where: skip.contains) else { return }
            found.append(entry.pid)
        }
        guard let rooms else {
            for entry in byPID.values { consider(entry) }
            return found
        }
        var seen: Set<String> = []
        for room in rooms {
            for pid in byRoom[room] ?? [] where seen.insert(pid).inserted {
                if let entry = byPID[pid] { consider(entry) }
            }
        }
        return found
    }

    /// Counts `bytes` appended for `pid`; false when that passes ``byteLimit`` (the caller makes it
    /// unrecoverable and removes it).
    mutating func account(_ bytes: Int, for pid: String) -> Bool {
        guard var entry = byPID[pid] else { return false }
        entry.bytes += bytes
        byPID[pid] = entry
        return entry.bytes <= byteLimit
    }
}
