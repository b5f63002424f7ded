import EngineIO
import SocketIO

extension AdminUI {
    /// One socket as the UI lists it, with python-socketio's keys. Shown: the sid, the first 12 characters of
    /// the Engine.IO sid (as Node's server does; the whole of it would let a viewer speak for a polling
    /// client), transport, namespace, rooms, the peer address and when it connected. Not shown, because
    /// quench does not keep them past the handshake: request headers (cookies included), the query and the
    /// auth payload (`headers` and `query` are empty objects, `data` too).
    func serialize(_ socket: Socket, now: Int64, wallNow: Int64) -> JSONValue {
        let issued = wallNow - (now - socket.connectedAt)
        return .object([
            "id": .string(socket.id),
            "clientId": .string(String(socket.engineSessionID.prefix(12))),
            "transport": .string(socket.transport.rawValue),
            "nsp": .string(socket.namespace.name),
            "data": .object([]),
            "handshake": .object([
                "address": .string(socket.peer),
                "headers": .object([]),
                "query": .object([]),
                "secure": .bool(configuration.secure),
                "url": .string(configuration.path),
                "issued": .int(issued),
                "time": .string(ISOTime.text(milliseconds: issued)),
            ]),
            "rooms": .array(socket.rooms.sorted().map(JSONValue.string)),
        ])
    }

    /// This node's `server_stats`: who it is, its clients, its namespaces, and what its engine counted since
    /// the last report (the UI's aggregated events; read from the counters `/metrics` keeps, so counting
    /// costs the message path nothing).
    func stats(now: Int64, wallNow: Int64) -> JSONValue {
        let counters = engine.counters
        let current = TrafficSnapshot(
            packetsIn: counters.messagesReceived, bytesIn: counters.bytesReceived, packetsOut: counters.messagesSent, bytesOut: counters.bytesSent,
            connections: counters.sessionsOpened, disconnections: counters.closes.values.reduce(0, +))
        let previous = lastTraffic
        lastTraffic = current
        let second = wallNow - wallNow % 1000
        var events: [JSONValue] = []
        for (type, count) in [
            ("rawConnection", current.connections - previous.connections), ("rawDisconnection", current.disconnections - previous.disconnections),
            ("packetsIn", current.packetsIn - previous.packetsIn), ("bytesIn", current.bytesIn - previous.bytesIn),
            ("packetsOut", current.packetsOut - previous.packetsOut), ("bytesOut", current.bytesOut - previous.bytesOut),
        ] where count > 0 {
            events.append(.object(["timestamp": .int(second), "type": .string(type), "count": .int(Int64(count))]))
        }
        let polling = counters.openByTransport[.polling] ?? 0
        return .object([
            "serverId": .string(configuration.serverID),
            "hostname": .string(configuration.hostname),
            "pid": .int(Int64(configuration.pid)),
            "uptime": .double(Double(now - startedAt) / 1000),
            "clientsCount": .int(Int64(engine.sessionCount)),
            "pollingClientsCount": .int(Int64(max(polling, 0))),
            "aggregatedEvents": .array(events),
            "namespaces": .array(server.servedNamespaces.map { .object(["name": .string($0.name), "socketsCount": .int(Int64($0.sockets.count))]) }),
        ])
    }
}

/// The engine's counters at the last `server_stats`.
struct TrafficSnapshot {
    var packetsIn = 0
    var bytesIn = 0
    var packetsOut = 0
    var bytesOut = 0
    var connections = 0
    var disconnections = 0
}
