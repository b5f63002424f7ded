import EngineIO

/// Moving a client's Socket.IO state between nodes with its Engine.IO session (EngineServer+Cluster.swift):
/// its sockets (one per namespace: sid, pid, auth, named rooms and the application's data through
/// ``Namespace/encodeData``), as JSON, so a node of any build can read it:
///
/// `{"v":1,"sockets":[{"ns":"/","id":sid,"pid":pid|null,"auth":…|null,"rooms":[…],"data":…|null},…]}`
///
/// The state is checked like any input from another node: a namespace not served here, a sid that is not one
/// this server makes, or one connected here already makes the whole state unusable (the session closes).
extension SocketIOServer {
    public func engineSessionWillMove(_ session: EngineSession) -> [UInt8]? {
        guard let client = session.context as? ClientConnection else { return [] }
        // Half a binary packet, or a CONNECT waiting on the recovery store: not a moment to move.
        guard client.restoring.isEmpty, client.partialBinary == nil else { return nil }
        var sockets: [JSONValue] = []
        for socket in client.sockets {
            let namespace = socket.namespace
            let rooms = namespace.rooms.rooms(of: socket.id).sorted()
            sockets.append(
                .object([
                    "ns": .string(namespace.name), "id": .string(socket.id), "pid": socket.pid.map(JSONValue.string) ?? .null,
                    "auth": socket.auth ?? .null, "rooms": .array(rooms.map(JSONValue.string)),
                    "data": namespace.encodeData?(socket.data) ?? .null,
                ]))
        }
        let state = JSONWriter.encode(.object(["v": 1, "sockets": .array(sockets)]))
        client.moveAway()
        session.context = nil
        return state
    }

    public func engineSession(_ session: EngineSession, didMoveInWith state: [UInt8]) -> Bool {
        guard let value = try? JSONParser.parse(state), value["v"] == .int(1), let entries = value["sockets"]?.arrayValue else {
            log.warn("moved-in sid=\(session.id): its Socket.IO state is not a version 1 state")
            return false
        }
        engineSessionDidOpen(session)
        guard let client = session.context as? ClientConnection else { return false }
        for entry in entries {
            guard let name = entry["ns"]?.stringValue, let namespace = existingNamespace(name), client.socket(in: name) == nil,
                let id = entry["id"]?.stringValue, StoredSession.isSessionID(id), namespace.sockets[id] == nil,
                let roomValues = entry["rooms"]?.arrayValue
            else {
                log.warn("moved-in sid=\(session.id): a socket of its Socket.IO state is unusable (namespace not served here, bad or duplicate sid)")
                return false
            }
            var pid: String?
            if let given = entry["pid"], given != .null {
                guard let text = given.stringValue, StoredSession.isSessionID(text) else { return false }
                pid = text
            }
            let auth = entry["auth"].flatMap { $0 == .null ? nil : $0 }
            let socket = Socket(id: id, namespace: namespace, auth: auth, client: client, pid: pid, movedIn: true)
            if let data = entry["data"], data != .null { socket.data = namespace.decodeData?(data) }
            for room in roomValues {
                guard let room = room.stringValue else { continue }
                namespace.rooms.add(id, to: room)
            }
            client.add(socket)
            namespace.onMoveIn?(socket)
        }
        return true
    }
}
