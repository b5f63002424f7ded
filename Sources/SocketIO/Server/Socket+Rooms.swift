import EngineIO

extension Socket {
    /// Puts this socket in `room` (on this node, where it lives). Joining the room named by a sid other than
    /// its own is refused, as python-socketio does. Service thread.
    public func join(_ room: String) {
        guard isConnected, room != id else { return }
        guard namespace.sockets[room] == nil else {
            client.log.debug("sid=\(id) may not join the sid room \(LogSafe.text(room)); ignored")
            return
        }
        let namespace = self.namespace
        if namespace.rooms.add(id, to: room), let observer = namespace.observer { observer.socket(self, joined: room) }
    }

    /// Takes this socket out of `room`.
    public func leave(_ room: String) {
        let namespace = self.namespace
        if namespace.rooms.remove(id, from: room), let observer = namespace.observer { observer.socket(self, left: room) }
    }

    /// The rooms this socket is in, its own sid room included.
    public var rooms: Set<String> {
        var rooms = namespace.rooms.rooms(of: id)
        if isConnected { rooms.insert(id) }
        return rooms
    }
}
