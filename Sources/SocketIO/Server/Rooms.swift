/// The named rooms of one namespace: which sids are in which room, and which rooms each sid is in.
///
/// The room named by a socket's own sid is implicit (``Namespace/recipients(in:skip:)`` looks the sid up in
/// the namespace's sockets), so a socket costs nothing here until it joins a named room. Mirrors
/// python-socketio's `BaseManager.rooms[namespace][room]` without the sid rooms. Service thread only.
struct RoomTable {
    /// Members of each named room by sid; a room with no members is removed.
    private(set) var members: [String: Set<String>] = [:]
    /// Named rooms of each sid that is in at least one.
    private var roomsOfSid: [String: Set<String>] = [:]

    /// Puts `sid` in `room`; returns false when it was already there.
    @discardableResult
    mutating func add(_ sid: String, to room: String) -> Bool {
        guard members[room, default: []].insert(sid).inserted else { return false }
        roomsOfSid[sid, default: []].insert(room)
        return true
    }

    /// Takes `sid` out of `room`; returns false when it was not there.
    @discardableResult
    mutating func remove(_ sid: String, from room: String) -> Bool {
        guard members[room]?.remove(sid) != nil else { return false }
        if members[room]?.isEmpty == true { members.removeValue(forKey: room) }
        roomsOfSid[sid]?.remove(room)
        if roomsOfSid[sid]?.isEmpty == true { roomsOfSid.removeValue(forKey: sid) }
        return true
    }

    /// Takes `sid` out of every room (it disconnected).
    mutating func removeAll(of sid: String) {
        guard let rooms = roomsOfSid.removeValue(forKey: sid) else { return }
        for room in rooms {
            members[room]?.remove(sid)
            if members[room]?.isEmpty == true { members.removeValue(forKey: room) }
        }
    }

    /// Empties `room`.
    mutating func close(_ room: String) {
        guard let sids = members.removeValue(forKey: room) else { return }
        for sid in sids {
            roomsOfSid[sid]?.remove(room)
            if roomsOfSid[sid]?.isEmpty == true { roomsOfSid.removeValue(forKey: sid) }
        }
    }

    /// The named rooms `sid` is in (not its own sid room).
    func rooms(of sid: String) -> Set<String> { roomsOfSid[sid] ?? [] }
}
