import EngineIO
import SocketIO

/// The JSON messages python-socketio 5.x's `PubSubManager` puts on the channel
/// (`src/socketio/pubsub_manager.py`), encoded and decoded field for field:
///
/// - emit: `{"method":"emit","event","data","binary","namespace","room","skip_sid","callback","host_id"}`
///   (`emit()`). `data` is the argument list; with binary arguments it is `[args with
///   {"_placeholder":true,"num":n}, base64(attachment 0), …]` and `binary` is true. `room` is null
///   (everyone), a sid or room name, or a list of them; `skip_sid` null, a sid or a list.
/// - disconnect `{sid, namespace}`, enter_room / leave_room `{sid, room, namespace}`, close_room
///   `{room, namespace}`, each with `host_id` (the sender's).
/// - callback `{host_id, sid, namespace, id, args}`, where `host_id` is the node the acknowledgement is
///   for (`_return_callback()`).
/// - quench only (python-socketio skips methods it does not know): `quench_recovered {handle, namespace,
///   host_id}`, `quench_handover {host_id, namespace, sessions: [[handle, sid, [rooms]], …]}`,
///   `quench_taking {namespace, handle, host_id (the taker), recorder}` and `quench_flushed {namespace,
///   handle, host_id (the recorder), taker}`. They name a session by its ``SocketIO/RecoveryHandle``, never
///   by its pid (which would let any reader of the channel take the session); a handle that is not 32 hex
///   digits is refused. `quench_app {namespace, name, args, host_id}` carries an application's message to
///   its peers on the other nodes (the Admin UI's actions and socket lists).
public enum PubSubMessage {
    /// One decoded message: the operation and the `host_id` it carried.
    public struct Decoded: Sendable, Equatable {
        /// For a callback: the node it is addressed to; otherwise: the node that sent it.
        public var hostID: String?
        /// What to do.
        public var operation: ClusterOperation
    }

    /// The JSON text of `operation` as python-socketio publishes it, from the node `hostID`.
    public static func encode(_ operation: ClusterOperation, hostID: String) -> [UInt8] {
        JSONWriter.encode(object(for: operation, hostID: hostID))
    }

    static func object(for operation: ClusterOperation, hostID: String) -> JSONValue {
        switch operation {
        case .emit(let emit):
            var data = JSONValue.array(emit.arguments)
            let (stripped, attachments) = BinaryPlaceholders.deconstruct(data)
            let binary = !attachments.isEmpty
            if binary {
                data = .array([stripped] + attachments.map { .string(String(decoding: Base64.encode($0), as: UTF8.self)) })
            }
            var callback = JSONValue.null
            if let remote = emit.callback {
                callback = .array([.string(remote.room), .string(remote.namespace), .int(remote.id)])
            }
            return .object([
                "method": "emit", "event": .string(emit.event), "data": data, "binary": .bool(binary),
                "namespace": .string(emit.namespace), "room": oneOrList(emit.rooms), "skip_sid": oneOrList(emit.skip.isEmpty ? nil : emit.skip),
                "callback": callback, "host_id": .string(hostID),
            ])
        case .disconnect(let sid, let namespace):
            return .object(["method": "disconnect", "sid": .string(sid), "namespace": .string(namespace), "host_id": .string(hostID)])
        case .enterRoom(let sid, let namespace, let room):
            return .object([
                "method": "enter_room", "sid": .string(sid), "room": .string(room), "namespace": .string(namespace), "host_id": .string(hostID),
            ])
        case .leaveRoom(let sid, let namespace, let room):
            return .object([
                "method": "leave_room", "sid": .string(sid), "room": .string(room), "namespace": .string(namespace), "host_id": .string(hostID),
            ])
        case .closeRoom(let room, let namespace):
            return .object(["method": "close_room", "room": .string(room), "namespace": .string(namespace), "host_id": .string(hostID)])
        case .callback(let host, let sid, let namespace, let id, let arguments):
            return .object([
                "method": "callback", "host_id": .string(host), "sid": .string(sid), "namespace": .string(namespace), "id": .int(id),
                "args": .array(arguments),
            ])
        case .recovered(let handle, let namespace):
            return .object(["method": "quench_recovered", "handle": .string(handle.text), "namespace": .string(namespace), "host_id": .string(hostID)])
        case .handover(let host, let namespace, let sessions):
            return .object([
                "method": "quench_handover", "host_id": .string(host), "namespace": .string(namespace),
                "sessions": .array(sessions.map { .array([.string($0.handle.text), .string($0.sid), .array($0.rooms.map(JSONValue.string))]) }),
            ])
        case .taking(let handle, let namespace, let taker, let recorder):
            // `recorder` last: the store's take script writes the message up to it and appends the value.
            return .object([
                "method": "quench_taking", "namespace": .string(namespace), "handle": .string(handle.text), "host_id": .string(taker),
                "recorder": .string(recorder),
            ])
        case .flushed(let handle, let namespace, let host, let taker):
            return .object([
                "method": "quench_flushed", "namespace": .string(namespace), "handle": .string(handle.text), "host_id": .string(host), "taker": .string(taker),
            ])
        case .application(let namespace, let name, let arguments):
            return .object([
                "method": "quench_app", "namespace": .string(namespace), "name": .string(name), "args": .array(arguments), "host_id": .string(hostID),
            ])
        }
    }

    private static func oneOrList(_ values: [String]?) -> JSONValue {
        guard let values else { return .null }
        return values.count == 1 ? .string(values[0]) : .array(values.map(JSONValue.string))
    }

    /// Decodes one message from the channel; throws when it is not one python-socketio would act on.
    public static func decode(_ bytes: [UInt8]) throws(PubSubMessageError) -> Decoded {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw PubSubMessageError("not JSON: \(error)") }
        guard case .object = value else { throw PubSubMessageError("not a JSON object") }
        guard let method = value["method"]?.stringValue else { throw PubSubMessageError("no \"method\"") }
        let hostID = value["host_id"]?.stringValue
        // python-socketio leaves a missing namespace as None, which matches no namespace; "/" is what every
        // emitter sends in practice, so quench reads a missing one as "/".
        let namespace = try optionalString(value["namespace"], "namespace") ?? "/"
        switch method {
        case "emit":
            guard let event = value["event"]?.stringValue else { throw PubSubMessageError("emit without a string \"event\"") }
            let arguments = try emitArguments(value["data"] ?? .null, binary: value["binary"] == .bool(true))
            let rooms = try stringOrList(value["room"], "room")
            let skip = try stringOrList(value["skip_sid"], "skip_sid") ?? []
            var callback: RemoteCallback?
            if case .array(let parts) = value["callback"] ?? .null, parts.count == 3, let hostID,
                let room = parts[0].stringValue, let callbackNamespace = parts[1].stringValue, case .int(let id) = parts[2]
            {
                callback = RemoteCallback(host: hostID, room: room, namespace: callbackNamespace, id: id)
            }
            return Decoded(
                hostID: hostID,
                operation: .emit(ClusterEmit(event: event, arguments: arguments, namespace: namespace, rooms: rooms, skip: skip, callback: callback)))
        case "disconnect":
            return Decoded(hostID: hostID, operation: .disconnect(sid: try string(value["sid"], "sid"), namespace: namespace))
        case "enter_room", "leave_room":
            let sid = try string(value["sid"], "sid")
            let room = try string(value["room"], "room")
            let operation: ClusterOperation =
                method == "enter_room"
                ? .enterRoom(sid: sid, namespace: namespace, room: room) : .leaveRoom(sid: sid, namespace: namespace, room: room)
            return Decoded(hostID: hostID, operation: operation)
        case "close_room":
            return Decoded(hostID: hostID, operation: .closeRoom(room: try string(value["room"], "room"), namespace: namespace))
        case "callback":
            guard let hostID else { throw PubSubMessageError("callback without host_id") }
            guard case .int(let id) = value["id"] ?? .null else { throw PubSubMessageError("callback without an integer \"id\"") }
            let arguments = value["args"]?.arrayValue ?? []
            return Decoded(
                hostID: hostID,
                operation: .callback(host: hostID, sid: try string(value["sid"], "sid"), namespace: namespace, id: id, arguments: arguments))
        case "quench_recovered":
            return Decoded(hostID: hostID, operation: .recovered(handle: try recoveryHandle(value["handle"]), namespace: namespace))
        case "quench_handover":
            guard let hostID else { throw PubSubMessageError("quench_handover without host_id") }
            guard let entries = value["sessions"]?.arrayValue else { throw PubSubMessageError("quench_handover without a \"sessions\" list") }
            var sessions: [HandedOverSession] = []
            for entry in entries {
                guard case .array(let parts) = entry, parts.count == 3, let sid = parts[1].stringValue, let roomValues = parts[2].arrayValue
                else { throw PubSubMessageError("quench_handover session that is not [handle, sid, [rooms]]") }
                let handle = try recoveryHandle(parts[0])
                var rooms: [String] = []
                for room in roomValues {
                    guard let name = room.stringValue else { throw PubSubMessageError("quench_handover room that is not a string") }
                    rooms.append(name)
                }
                sessions.append(HandedOverSession(handle: handle, sid: sid, rooms: rooms))
            }
            return Decoded(hostID: hostID, operation: .handover(host: hostID, namespace: namespace, sessions: sessions))
        case "quench_taking":
            guard let hostID else { throw PubSubMessageError("quench_taking without host_id") }
            return Decoded(
                hostID: hostID,
                operation: .taking(
                    handle: try recoveryHandle(value["handle"]), namespace: namespace, taker: hostID, recorder: try string(value["recorder"], "recorder")))
        case "quench_flushed":
            guard let hostID else { throw PubSubMessageError("quench_flushed without host_id") }
            return Decoded(
                hostID: hostID,
                operation: .flushed(handle: try recoveryHandle(value["handle"]), namespace: namespace, host: hostID, taker: try string(value["taker"], "taker")))
        case "quench_app":
            guard let arguments = value["args"]?.arrayValue else { throw PubSubMessageError("quench_app without an \"args\" list") }
            return Decoded(hostID: hostID, operation: .application(namespace: namespace, name: try string(value["name"], "name"), arguments: arguments))
        default:
            throw PubSubMessageError("unknown method \"\(method)\"")
        }
    }

    /// The event arguments python-socketio's receiving side derives from `data` (`_handle_emit()` then
    /// `Manager.emit()`): a one-element list is one argument, and a lone null is no argument (python
    /// publishes `emit(event)` with no data as `[null]`); any other list is the arguments; a non-list is one.
    static func emitArguments(_ data: JSONValue, binary: Bool) throws(PubSubMessageError) -> [JSONValue] {
        var data = data
        if binary {
            guard case .array(let parts) = data, let first = parts.first else {
                throw PubSubMessageError("binary emit whose data is not [arguments, attachments…]")
            }
            var attachments: [[UInt8]] = []
            for part in parts.dropFirst() {
                guard let text = part.stringValue, let bytes = Base64.decode(Array(text.utf8)) else {
                    throw PubSubMessageError("binary attachment that is not base64 text")
                }
                attachments.append(bytes)
            }
            do { data = try BinaryPlaceholders.reconstruct(first, attachments: attachments) } catch {
                throw PubSubMessageError("bad binary placeholders: \(error)")
            }
        }
        switch data {
        case .array(let elements) where elements.count == 1: return elements[0] == .null ? [] : [elements[0]]
        case .array(let elements): return elements
        case .null: return []
        default: return [data]
        }
    }

    private static func string(_ value: JSONValue?, _ field: String) throws(PubSubMessageError) -> String {
        guard let text = value?.stringValue else { throw PubSubMessageError("\"\(field)\" is not a string") }
        return text
    }

    /// A session's handle: 32 lowercase hex digits (a pid here is refused, as any other text).
    private static func recoveryHandle(_ value: JSONValue?) throws(PubSubMessageError) -> RecoveryHandle {
        guard let text = value?.stringValue, let handle = RecoveryHandle(text: text) else {
            throw PubSubMessageError("\"handle\" is not 32 hex digits")
        }
        return handle
    }

    private static func optionalString(_ value: JSONValue?, _ field: String) throws(PubSubMessageError) -> String? {
        guard let value, value != .null else { return nil }
        return try string(value, field)
    }

    private static func stringOrList(_ value: JSONValue?, _ field: String) throws(PubSubMessageError) -> [String]? {
        switch value ?? .null {
        case .null: return nil
        case .string(let text): return [text]
        case .array(let elements):
            var texts: [String] = []
            for element in elements {
                guard let text = element.stringValue else { throw PubSubMessageError("\"\(field)\" list holds a non-string") }
                texts.append(text)
            }
            return texts
        default: throw PubSubMessageError("\"\(field)\" is neither null, a string nor a list")
        }
    }
}

/// A channel message quench cannot act on; logged and skipped.
public struct PubSubMessageError: Error, CustomStringConvertible, Equatable {
    /// What is wrong with it.
    public let description: String
    package init(_ description: String) { self.description = description }
}
