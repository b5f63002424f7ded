import EngineIO

extension Namespace {
    /// Sends an event to the members of `room` (a room name, or a socket's sid) — everyone in the namespace
    /// when `room` is nil — except the sids in `skip`, on every node when a message queue is configured.
    /// Encoded once for every local recipient.
    /// - Parameters:
    ///   - event: the event name.
    ///   - arguments: the arguments after the name.
    ///   - room: a room name or a sid; nil for everyone in the namespace.
    ///   - skip: sids that must not get it (python-socketio's `skip_sid`).
    public func emit(_ event: String, _ arguments: [JSONValue] = [], to room: String?, skip: [String] = []) {
        let rooms = room.map { [$0] }
        adapter?.publish(.emit(ClusterEmit(event: event, arguments: arguments, namespace: name, rooms: rooms, skip: skip)))
        deliver(event, arguments, rooms: rooms, skip: skip)
    }

    /// Like ``emit(_:_:to:skip:)`` but for this node's clients only, never through the message queue
    /// (python-socketio's `ignore_queue=True`). Per-node work such as reminders uses it.
    public func emitLocally(_ event: String, _ arguments: [JSONValue] = [], to room: String? = nil, skip: [String] = []) {
        deliver(event, arguments, rooms: room.map { [$0] }, skip: skip)
    }

    /// Empties `room` on every node. Its members stay connected.
    public func closeRoom(_ room: String) {
        rooms.close(room)
        adapter?.publish(.closeRoom(room: room, namespace: name))
    }

    /// Disconnects the socket `sid` from this namespace, on whichever node holds it: directly when it is
    /// here, through the message queue otherwise.
    public func disconnect(_ sid: String) {
        if let socket = sockets[sid] {
            socket.disconnect()
        } else {
            adapter?.publish(.disconnect(sid: sid, namespace: name))
        }
    }

    /// Puts the socket `sid` in `room`, on whichever node holds it.
    public func join(sid: String, room: String) {
        if let socket = sockets[sid] {
            socket.join(room)
        } else {
            adapter?.publish(.enterRoom(sid: sid, namespace: name, room: room))
        }
    }

    /// Takes the socket `sid` out of `room`, on whichever node holds it.
    public func leave(sid: String, room: String) {
        if let socket = sockets[sid] {
            socket.leave(room)
        } else {
            adapter?.publish(.leaveRoom(sid: sid, namespace: name, room: room))
        }
    }

    /// The local members of a named room (sids), for inspection.
    public func members(of room: String) -> Set<String> { rooms.members[room] ?? [] }

    /// The first `limit` local sockets an emit to `rooms` (nil: everyone) skipping `skip` reaches, and how
    /// many it reaches in all (an observer reporting a broadcast stops at its budget and counts the rest).
    /// Allocates no more than `limit` entries; counting the rest of a room costs a walk of its members.
    public func recipients(in rooms: [String]?, skip: [String], limit: Int) -> (sockets: [Socket], total: Int) {
        let skipped = Set(skip)
        var found: [Socket] = []
        guard let rooms else {
            if skipped.isEmpty {
                return (Array(sockets.values.prefix(max(limit, 0))), sockets.count)
            }
            var total = 0
            for socket in sockets.values where !skipped.contains(socket.id) {
                total += 1
                if found.count < limit { found.append(socket) }
            }
            return (found, total)
        }
        var seen: Set<String> = []
        var total = 0
        func take(_ sid: String) {
            guard !skipped.contains(sid), let socket = sockets[sid], seen.insert(sid).inserted else { return }
            total += 1
            if found.count < limit { found.append(socket) }
        }
        for room in rooms {
            take(room)  // every socket is in the room named by its own sid
            for sid in self.rooms.members[room] ?? [] { take(sid) }
        }
        return (found, total)
    }

    /// The local sockets that an emit to `rooms` (nil: everyone) skipping `skip` reaches; each once.
    func recipients(in rooms: [String]?, skip: [String]) -> [Socket] {
        let skipped = Set(skip)
        guard let rooms else {
            return skipped.isEmpty ? Array(sockets.values) : sockets.values.filter { !skipped.contains($0.id) }
        }
        var seen: Set<String> = []
        var found: [Socket] = []
        func take(_ sid: String) {
            guard !skipped.contains(sid), let socket = sockets[sid], seen.insert(sid).inserted else { return }
            found.append(socket)
        }
        for room in rooms {
            take(room)  // every socket is in the room named by its own sid
            for sid in self.rooms.members[room] ?? [] { take(sid) }
        }
        return found
    }

    /// Sends to this node's recipients, encoding once.
    /// With recovery on, the packet is kept in the log (and carries its offset) even when no socket here
    /// gets it: a dropped session in those rooms may come back for it.
    func deliver(_ event: String, _ arguments: [JSONValue], rooms: [String]?, skip: [String]) {
        if let observer { observer.namespace(self, sent: event, arguments, rooms: rooms, skip: skip) }
        if let recovery {
            // One offset for this broadcast: every recipient gets the same bytes.
            let encoded = recovery.record(event, arguments, namespace: name, target: .init(rooms: rooms, skip: skip))
            if rooms == nil, skip.isEmpty {
                sendToEveryone(encoded)
            } else {
                for socket in recipients(in: rooms, skip: skip) { socket.send(encoded: encoded) }
            }
            recovery.recordAway(event, arguments, rooms: rooms, skip: skip)
            return
        }
        if rooms == nil, skip.isEmpty {
            if !sockets.isEmpty { sendToEveryone(EncodedPacket(event: event, arguments, namespace: name, parser: parser)) }
            return
        }
        let targets = recipients(in: rooms, skip: skip)
        guard !targets.isEmpty else { return }
        let encoded = EncodedPacket(event: event, arguments, namespace: name, parser: parser)
        for socket in targets { socket.send(encoded: encoded) }
    }
}
