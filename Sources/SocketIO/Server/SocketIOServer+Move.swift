import EngineIO

/// Moving a client's Socket.IO state between nodes with its Engine.IO session (EngineServer+Cluster.swift):
/// its sockets (one per namespace: sid, pid, auth, named rooms and the application's data through
/// ``Namespace/encodeData``), as JSON, so a node of any build can read it:
///
/// `{"v":1,"node":tag,"sockets":[{"ns":"/","id":sid,"pid":pid|null,"auth":…|null,"rooms":[…],"data":…|null,"acks":["7",…],"next":"9"},…]}`
///
/// Acknowledgements the client still owes travel as ids only: their callbacks stay on the node the socket
/// left (`node`), which keeps the socket for them, and the client's answer, arriving on the new node, is sent
/// back there as a message of this layer (``EngineServer/sendUpper(_:to:)``):
/// `{"ack":[namespace, sid, "id"],"answer":[[…args],attachments…]}` or `{"ack":[…],"failed":"disconnected"|"dropped"}`.
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
                    "acks": .array(socket.owedAcks.ids.map { .string(String($0)) }), "next": .string(String(socket.owedAcks.next)),
                ]))
        }
        let state = JSONWriter.encode(.object(["v": 1, "node": .string(engine.nodeTag ?? ""), "sockets": .array(sockets)]))
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
            if let owed = entry["acks"]?.arrayValue, !owed.isEmpty, let node = value["node"]?.stringValue, SessionID.isNodeTag(node) {
                let ids = owed.compactMap { $0.stringValue.flatMap { UInt64($0) } }
                let next = entry["next"]?.stringValue.flatMap { UInt64($0) } ?? 0
                socket.adoptOwedAcks(ids, next: next) { [unowned self] ackID, result in
                    relayAnswer(result, to: node, namespace: name, sid: id, ackID: ackID)
                }
            }
            client.add(socket)
            namespace.onMoveIn?(socket)
            namespace.observer?.socketConnected(socket)
        }
        return true
    }
}

extension SocketIOServer {
    /// Keeps `socket`, which moves away owing acknowledgements, for their callbacks. False at the bound.
    func keepForAcks(_ socket: Socket) -> Bool {
        guard movedAckSockets.count < Self.maxMovedAckSockets else {
            log.warn("moved sid=\(socket.id): \(Self.maxMovedAckSockets) moved sockets already wait for acknowledgements; its \(socket.owedAcks.ids.count) fail as disconnected")
            return false
        }
        socket.keepAcksAfterMove()
        movedAckSockets[Self.movedAckKey(socket.namespace.name, socket.id)] = socket
        return true
    }

    /// Forgets a moved socket once nothing is owed any more.
    func releaseMovedAcks(of socket: Socket) {
        movedAckSockets.removeValue(forKey: Self.movedAckKey(socket.namespace.name, socket.id))
    }

    static func movedAckKey(_ namespace: String, _ sid: String) -> String { namespace + " " + sid }

    /// Sends the client's answer to an acknowledgement the node it moved from still waits for.
    private func relayAnswer(_ result: Result<[JSONValue], AckFailure>, to node: String, namespace: String, sid: String, ackID: UInt64) {
        var message: [JSONMember] = [JSONMember("ack", .array([.string(namespace), .string(sid), .string(String(ackID))]))]
        switch result {
        case .success(let arguments): message.append(JSONMember("answer", StoredPacket.value(event: "ack", arguments: arguments)))
        case .failure(let failure): message.append(JSONMember("failed", .string(failure.reason == .dropped ? "dropped" : "disconnected")))
        }
        if !engine.sendUpper(JSONWriter.encode(.object(message)), to: node) {
            log.warn("acknowledgement id=\(ackID) sid=\(sid): the message queue refused its answer for node \(node); that callback will not run")
        }
    }

    public func engineServer(_ server: EngineServer, receivedFrom node: String, _ message: [UInt8]) {
        guard let value = try? JSONParser.parse(message), case .array(let target)? = value["ack"], target.count == 3,
            let namespace = target[0].stringValue, let sid = target[1].stringValue, let ackID = target[2].stringValue.flatMap({ UInt64($0) })
        else {
            log.warn("message queue: a message from node \(node) for this layer that is not an acknowledgement's answer; skipped")
            return
        }
        let key = Self.movedAckKey(namespace, sid)
        guard let socket = movedAckSockets[key] else { return }  // answered, timed out, or dropped here already
        let result: Result<[JSONValue], AckFailure>
        if let answer = value["answer"], let decoded = try? StoredPacket.decode(answer) {
            result = .success(decoded.arguments)
        } else {
            result = .failure(AckFailure(value["failed"]?.stringValue == "dropped" ? .dropped : .disconnected))
        }
        if !socket.settleMovedAck(id: ackID, result) { movedAckSockets.removeValue(forKey: key) }
    }
}
