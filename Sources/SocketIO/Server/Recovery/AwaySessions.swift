/// The dropped sessions this node records for while they are away, with a recovery store: its own until a
/// client comes back (anywhere), and those a stopping node handed over to it. An emit that reaches one is
/// appended to the store for it, so the node the client comes back to can give it what it missed.
///
/// Known by ``RecoveryHandle`` (what the store and the channel name it by; computed once, when it is added),
/// found by room (a sid is a room): an emit costs one lookup per target room, or a pass over every away
/// session for an emit to the whole namespace. A reply to a connected socket never comes here.
///
/// Bounded: at most ``limit`` sessions (past it a dropped session is not kept: its client gets a new
/// session), at most ``perAddressLimit`` of this node's own for one client address (past it that address's
/// further drops are not kept, so one address churning join-and-drop sessions cannot fill the table other
/// addresses' drops need), each for the window after it was added, and at most ``byteLimit`` bytes appended
/// per session (past it the session is made unrecoverable, never delivered with a hole). Service thread only.
struct AwaySessions {
    struct Entry {
        let handle: RecoveryHandle
        let sid: String
        /// Named rooms (not the sid room).
        let rooms: [String]
        /// The node it was taken over from when that node stopped (appends go to the adopter's list); nil
        /// for this node's own.
        let adoptedFrom: String?
        let expiresAt: Int64
        /// The client's address group (``EngineIO/AddressLimits/group(_:)``); nil for a session taken over
        /// from a stopping node, whose address is not known here (not bounded per address).
        var address: String? = nil
        /// Bytes appended for it so far.
        var bytes = 0
    }

    let limit: Int
    let byteLimit: Int
    let perAddressLimit: Int
    /// This node's own sessions per address group.
    private var perAddress: [String: Int] = [:]
    /// Sessions not kept at ``perAddressLimit``, since the start.
    private(set) var refusedPerAddress = 0
    /// By handle text.
    private var byHandle: [String: Entry] = [:]
    /// Room → handle texts.
    private var byRoom: [String: Set<String>] = [:]
    /// Handle texts in the order added, by expiry time (never decreasing).
    private var order = ExpiryOrder()

    init(limit: Int, byteLimit: Int, perAddressLimit: Int = .max) {
        self.limit = max(limit, 1)
        self.byteLimit = byteLimit
        self.perAddressLimit = max(perAddressLimit, 1)
    }

    /// Why ``add(_:)`` did not keep a session.
    enum Refusal { case total, address }

    var count: Int { byHandle.count }
    var isEmpty: Bool { byHandle.isEmpty }
    var all: [Entry] { Array(byHandle.values) }

    func entry(_ handle: RecoveryHandle) -> Entry? { byHandle[handle.text] }

    /// Adds `entry` unless the bound is reached (then false).
    mutating func add(_ entry: Entry) -> Bool { keep(entry) == nil }

    /// Adds `entry`, or says which bound refused it.
    mutating func keep(_ entry: Entry) -> Refusal? {
        let key = entry.handle.text
        guard byHandle[key] == nil else { return nil }
        guard byHandle.count < limit else { return .total }
        if let address = entry.address {
            guard perAddress[address, default: 0] < perAddressLimit else {
                refusedPerAddress &+= 1
                return .address
            }
            perAddress[address, default: 0] += 1
        }
        byHandle[key] = entry
        for room in [entry.sid] + entry.rooms { byRoom[room, default: []].insert(key) }
        order.append(key, entry.expiresAt)
        return nil
    }

    @discardableResult
    mutating func remove(_ handle: RecoveryHandle) -> Entry? { remove(key: handle.text) }

    @discardableResult
    private mutating func remove(key: String) -> Entry? {
        guard let entry = byHandle.removeValue(forKey: key) else { return nil }
        if let address = entry.address {
            perAddress[address, default: 1] -= 1
            if perAddress[address] == 0 { perAddress.removeValue(forKey: address) }
        }
        for room in [entry.sid] + entry.rooms {
            byRoom[room]?.remove(key)
            if byRoom[room]?.isEmpty == true { byRoom.removeValue(forKey: room) }
        }
        order.compact(liveCount: byHandle.count, isLive: isLive)
        return entry
    }

    /// Drops the sessions whose window has passed.
    mutating func removeExpired(now: Int64) {
        while let (_, expiresAt) = order.first, expiresAt < now {
            let (key, _) = order.removeFirst()
            if isLive(key, expiresAt) { remove(key: key) }
        }
        order.compact(liveCount: byHandle.count, isLive: isLive)
    }

    /// Whether the order's entry (`key`, `expiresAt`) is of the session recorded for now.
    private func isLive(_ key: String, _ expiresAt: Int64) -> Bool { byHandle[key]?.expiresAt == expiresAt }

    /// The handles of the sessions an emit to `rooms` (nil: everyone) skipping the sids in `skip` reaches.
    func reached(rooms: [String]?, skip: [String]) -> [RecoveryHandle] {
        var found: [RecoveryHandle] = []
        func consider(_ entry: Entry) {
            guard skip.isEmpty || !([entry.sid] + entry.rooms).contains(where: skip.contains) else { return }
            found.append(entry.handle)
        }
        guard let rooms else {
            for entry in byHandle.values { consider(entry) }
            return found
        }
        var seen: Set<String> = []
        for room in rooms {
            for key in byRoom[room] ?? [] where seen.insert(key).inserted {
                if let entry = byHandle[key] { consider(entry) }
            }
        }
        return found
    }

    /// Counts `bytes` appended for `handle`; false when that passes ``byteLimit`` (the caller makes it
    /// unrecoverable and removes it).
    mutating func account(_ bytes: Int, for handle: RecoveryHandle) -> Bool {
        guard var entry = byHandle[handle.text] else { return false }
        entry.bytes += bytes
        byHandle[handle.text] = entry
        return entry.bytes <= byteLimit
    }
}
