import EngineIO

/// The Engine.IO sessions of a namespace's sockets in one contiguous array, for a broadcast to everyone:
/// walking it touches each recipient's session and nothing else of Socket.IO's (no dictionary walk, no
/// copy of the member list, no retain or release per recipient).
///
/// Kept in step with the namespace's sockets: a socket is added when it joins and removed when it leaves,
/// which happens before its session can end (the session's end makes its sockets leave first). Each socket
/// knows its slot (``Socket/recipientIndex``), so leaving is a swap with the last slot, O(1). The entries are
/// unretained: the namespace's socket table holds each socket, and a socket its client and session, for as
/// long as the entry is in the list.
///
/// A socket may leave while a walk is under way (a recipient's outbound limit ends its session; a
/// disconnect handler disconnects another). Its slot is then emptied rather than filled from the end, so
/// the walk neither skips nor repeats anyone and never reaches a session that has gone; emptied slots are
/// closed up when the outermost walk ends. A socket that joins during a walk is appended past the walk's
/// end and does not get that broadcast. Bounded by the namespace's sockets, plus the slots emptied during
/// one walk. Service thread only.
struct RecipientList {
    /// A member: its session, nil once it left during a walk; and its socket, to update a moved slot.
    private struct Entry {
        var session: Unmanaged<EngineSession>?
        let socket: Unmanaged<Socket>
    }

    private var entries: ContiguousArray<Entry> = []
    /// Walks under way (a walk's sends can run a handler that broadcasts again).
    private var walks = 0
    /// Whether a slot was emptied during the walks under way.
    private var hasEmptySlots = false

    /// Slots, emptied ones included.
    var count: Int { entries.count }

    /// Members, not counting emptied slots.
    var members: Int { hasEmptySlots ? entries.reduce(0) { $0 + ($1.session == nil ? 0 : 1) } : entries.count }

    mutating func add(_ socket: Socket) {
        socket.recipientIndex = entries.count
        entries.append(Entry(session: .passUnretained(socket.client.session), socket: .passUnretained(socket)))
    }

    mutating func remove(_ socket: Socket) {
        let index = socket.recipientIndex
        guard index >= 0, index < entries.count, entries[index].socket.toOpaque() == Unmanaged.passUnretained(socket).toOpaque() else {
            return
        }
        socket.recipientIndex = -1
        if walks > 0 {
            entries[index].session = nil
            hasEmptySlots = true
            return
        }
        let last = entries.removeLast()
        guard index < entries.count else { return }
        entries[index] = last
        last.socket._withUnsafeGuaranteedRef { $0.recipientIndex = index }
    }

    /// The session in slot `index`, nil if that member left during the walk.
    func session(at index: Int) -> Unmanaged<EngineSession>? { entries[index].session }

    /// A walk begins: from now until ``endWalk()``, leaving empties a slot instead of moving another.
    mutating func beginWalk() { walks += 1 }

    /// A walk ended; the outermost closes up the slots emptied meanwhile.
    mutating func endWalk() {
        walks -= 1
        guard walks == 0, hasEmptySlots else { return }
        hasEmptySlots = false
        entries.removeAll { $0.session == nil }
        for index in entries.indices {
            entries[index].socket._withUnsafeGuaranteedRef { $0.recipientIndex = index }
        }
    }
}

extension Namespace {
    /// Sends `frame` to every socket of the namespace, each once, walking the contiguous list of sessions.
    /// A socket that leaves during the walk is not written to after it left; one that joins does not get it.
    func sendToEveryone(_ frame: SharedTextFrame) {
        recipients.beginWalk()
        defer { recipients.endWalk() }
        let end = recipients.count
        var index = 0
        while index < end {
            // Read from the list at each step: a send may have run a handler that emptied a later slot.
            if let session = recipients.session(at: index) {
                session._withUnsafeGuaranteedRef { $0.sendShared(frame) }
            }
            index &+= 1
        }
    }
}
