import EngineIO

/// A dropped session as a recovery store keeps it (JSON, so that a node of any build can read it):
///
/// `{"v":2,"ns":"/","handle":…,"sid":…,"rooms":[…],"data":…,"owner":host,"floor":"F","next":"D","packets":[["S",P],…]}`
///
/// `packets` are the packets of the owner's log with sequence `S` in `[floor, next)` that reached the session
/// (each ``StoredPacket``), oldest first: all of them, so a client whose offset is at least `floor - 1` misses
/// nothing the owner sent before it noticed the drop. What the session missed after that is in the store's
/// lists (``StoreTake``). Decoding checks every field: a record from the store is untrusted input.
///
/// The record names the session by its ``RecoveryHandle``, never by its pid (version 2; version 1 records,
/// which held the pid, are refused as unreadable: they expire with the window).
public struct StoredSession: Sendable, Equatable {
    public var namespace: String
    /// The session's handle (the one its keys are named by): a take checks it against the pid presented.
    public var handle: RecoveryHandle
    public var sid: String
    /// Named rooms (not the sid room).
    public var rooms: [String]
    /// The application's data for the session (``Namespace/encodeData``), if it keeps any.
    public var data: JSONValue?
    /// The host id of the node that kept it.
    public var owner: String
    /// The oldest sequence of the owner's log that `packets` covers.
    public var floor: UInt64
    /// The sequence the owner's log would have given its next packet when the session dropped.
    public var next: UInt64
    /// `(sequence, StoredPacket JSON)`, oldest first.
    public var packets: [(sequence: UInt64, packet: JSONValue)]

    public init(
        namespace: String, handle: RecoveryHandle, sid: String, rooms: [String], data: JSONValue?, owner: String, floor: UInt64, next: UInt64,
        packets: [(sequence: UInt64, packet: JSONValue)]
    ) {
        self.namespace = namespace
        self.handle = handle
        self.sid = sid
        self.rooms = rooms
        self.data = data
        self.owner = owner
        self.floor = floor
        self.next = next
        self.packets = packets
    }

    public static func == (lhs: StoredSession, rhs: StoredSession) -> Bool {
        lhs.namespace == rhs.namespace && lhs.handle == rhs.handle && lhs.sid == rhs.sid && lhs.rooms == rhs.rooms && lhs.data == rhs.data
            && lhs.owner == rhs.owner && lhs.floor == rhs.floor && lhs.next == rhs.next
            && lhs.packets.map(\.sequence) == rhs.packets.map(\.sequence) && lhs.packets.map(\.packet) == rhs.packets.map(\.packet)
    }

    /// Whether `text` looks like an id ``SessionID`` makes (1 to 64 of its URL-safe characters): what a
    /// client's pid must be before the store is asked for it, and what a record's sid must be.
    public static func isSessionID(_ text: String) -> Bool {
        let bytes = text.utf8
        return (1...64).contains(bytes.count)
            && bytes.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F }
    }

    public func encode() -> [UInt8] {
        JSONWriter.encode(
            .object([
                "v": 2, "ns": .string(namespace), "handle": .string(handle.text), "sid": .string(sid), "rooms": .array(rooms.map(JSONValue.string)),
                "data": data ?? .null, "owner": .string(owner), "floor": .string(String(floor)), "next": .string(String(next)),
                "packets": .array(packets.map { .array([.string(String($0.sequence)), $0.packet]) }),
            ]))
    }

    /// Reads a record written by ``encode()``; throws on anything else.
    public static func decode(_ bytes: [UInt8]) throws(StoredRecordError) -> StoredSession {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw StoredRecordError("not JSON: \(error)") }
        guard value["v"] == .int(2) else { throw StoredRecordError("not a version 2 record") }
        func text(_ key: String) throws(StoredRecordError) -> String {
            guard let text = value[key]?.stringValue else { throw StoredRecordError("no string \"\(key)\"") }
            return text
        }
        func sequence(_ text: String, _ what: String) throws(StoredRecordError) -> UInt64 {
            guard let number = MissedPacketLog.sequence(from: text) else { throw StoredRecordError("\"\(what)\" is not a sequence number") }
            return number
        }
        guard let roomValues = value["rooms"]?.arrayValue else { throw StoredRecordError("no \"rooms\" list") }
        var rooms: [String] = []
        for room in roomValues {
            guard let name = room.stringValue else { throw StoredRecordError("a room that is not a string") }
            rooms.append(name)
        }
        guard let packetValues = value["packets"]?.arrayValue else { throw StoredRecordError("no \"packets\" list") }
        var packets: [(sequence: UInt64, packet: JSONValue)] = []
        for entry in packetValues {
            guard case .array(let pair) = entry, pair.count == 2, let number = pair[0].stringValue else {
                throw StoredRecordError("a packet that is not [sequence, packet]")
            }
            packets.append((try sequence(number, "packets"), pair[1]))
        }
        let floor = try sequence(try text("floor"), "floor")
        let next = try sequence(try text("next"), "next")
        guard floor <= next else { throw StoredRecordError("floor after next") }
        let data = value["data"] ?? .null
        guard let handle = RecoveryHandle(text: try text("handle")) else { throw StoredRecordError("a handle that is not 32 hex digits") }
        let sid = try text("sid")
        // It reaches log lines: only the ids this server makes.
        guard Self.isSessionID(sid) else { throw StoredRecordError("a sid that is not a session id") }
        return StoredSession(
            namespace: try text("ns"), handle: handle, sid: sid, rooms: rooms, data: data == .null ? nil : data,
            owner: try text("owner"), floor: floor, next: next, packets: packets)
    }
}

/// One event a dropped session missed, as a recovery store keeps it: `[[name, args…], attachment…]`, the
/// arguments with binary placeholders and each attachment in base64 (python-socketio's binary emit layout).
public enum StoredPacket {
    public static func value(event: String, arguments: [JSONValue]) -> JSONValue {
        let (stripped, attachments) = BinaryPlaceholders.deconstruct(.array([.string(event)] + arguments))
        return .array([stripped] + attachments.map { .string(String(decoding: Base64.encode($0), as: UTF8.self)) })
    }

    public static func encode(event: String, arguments: [JSONValue]) -> [UInt8] {
        JSONWriter.encode(value(event: event, arguments: arguments))
    }

    /// The event and arguments of a sent packet (its recovery offset, the last argument, left out); nil when
    /// it is not an event this server wrote.
    static func value(sent packet: EncodedPacket) -> JSONValue? {
        guard let whole = try? packet.decoded(), let name = whole.eventName
        else { return nil }
        var arguments = Array(whole.arguments)
        if !arguments.isEmpty { arguments.removeLast() }
        return value(event: name, arguments: arguments)
    }

    /// The event name and arguments of a stored packet.
    public static func decode(_ value: JSONValue) throws(StoredRecordError) -> (event: String, arguments: [JSONValue]) {
        guard case .array(let parts) = value, case .array(let event)? = parts.first, case .string(let name)? = event.first else {
            throw StoredRecordError("a packet that is not [[name, args…], attachments…]")
        }
        var attachments: [[UInt8]] = []
        for part in parts.dropFirst() {
            guard let text = part.stringValue, let bytes = Base64.decode(Array(text.utf8)) else {
                throw StoredRecordError("an attachment that is not base64")
            }
            attachments.append(bytes)
        }
        do {
            let whole = try BinaryPlaceholders.reconstruct(.array(event), attachments: attachments)
            return (name, Array(whole.arrayValue?.dropFirst() ?? []))
        } catch {
            throw StoredRecordError("bad attachments: \(error)")
        }
    }

    public static func decode(_ bytes: [UInt8]) throws(StoredRecordError) -> (event: String, arguments: [JSONValue]) {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw StoredRecordError("not JSON: \(error)") }
        return try decode(value)
    }
}

/// Why a record from a recovery store was not used.
public struct StoredRecordError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
