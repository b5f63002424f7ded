import EngineIO
import SocketIO

/// The JSON form of the messages between two quench nodes' engines (``EngineIO/NodeMessage``), published
/// on the receiving node's own channel or queue (Redis: `quench:<channel>:to:<tag>`; AMQP: `quench.<channel>.to.<tag>`), never on the shared one:
///
/// - `{"m":"req","id":N,"from":tag,"method":"GET","query":[[name,value],…],"origin":…|null,"peer":…,"hops":H,"body":text}`
///   (`"body64"` instead of `"body"` when the body is not UTF-8)
/// - `{"m":"res","id":N,"status":S,"type":content-type,"headers":[[name,value],…],"body":text}` (or `"body64"`)
/// - `{"m":"held","id":N}`, `{"m":"gone","id":N,"from":tag}`, `{"m":"move","id":N,"from":tag,"sid":sid}`
/// - `{"m":"moved","id":N,"reason":text,"session":null|{"sid","peer","transport","queued":[[type,binary,base64],…],"state":base64}}`
/// - `{"m":"up","from":tag,"body":text}`: the layer above's own message (Socket.IO: an acknowledgement's answer)
///
/// Decoding checks every field, as for anything read from a broker: node tags are 12 hex digits, sids the
/// server's own alphabet, statuses 100–599, and header names and values carry no control characters (a
/// header the binding writes must not be able to split the response).
public enum NodeMessageCodec {
    public static func encode(_ message: NodeMessage) -> [UInt8] {
        JSONWriter.encode(value(of: message))
    }

    static func value(of message: NodeMessage) -> JSONValue {
        switch message {
        case .request(let id, let from, let request):
            var members: [JSONMember] = [
                JSONMember("m", "req"), JSONMember("id", .int(Int64(bitPattern: id))), JSONMember("from", .string(from)),
                JSONMember("method", .string(request.method.name)),
                JSONMember("query", .array(request.query.all.map { .array([.string($0.name), .string($0.value)]) })),
                JSONMember("origin", request.origin.map(JSONValue.string) ?? .null), JSONMember("peer", .string(request.peer)),
                JSONMember("hops", .int(Int64(request.hops))),
            ]
            members.append(body(request.body))
            return .object(members)
        case .response(let id, let response):
            return .object([
                JSONMember("m", "res"), JSONMember("id", .int(Int64(bitPattern: id))), JSONMember("status", .int(Int64(response.status))),
                JSONMember("type", .string(response.contentType)),
                JSONMember("headers", .array(response.headers.map { .array([.string($0.name), .string($0.value)]) })),
                body(response.body),
            ])
        case .held(let id):
            return .object([JSONMember("m", "held"), JSONMember("id", .int(Int64(bitPattern: id)))])
        case .abandoned(let id, let from):
            return .object([JSONMember("m", "gone"), JSONMember("id", .int(Int64(bitPattern: id))), JSONMember("from", .string(from))])
        case .moveRequest(let id, let from, let sid):
            return .object([
                JSONMember("m", "move"), JSONMember("id", .int(Int64(bitPattern: id))), JSONMember("from", .string(from)), JSONMember("sid", .string(sid)),
            ])
        case .moveAnswer(let id, let moved, let reason):
            var session = JSONValue.null
            if let moved {
                session = .object([
                    JSONMember("sid", .string(moved.sid)), JSONMember("peer", .string(moved.peer)), JSONMember("transport", .string(moved.transport.rawValue)),
                    JSONMember(
                        "queued",
                        .array(
                            moved.queued.map {
                                .array([.int(Int64($0.type.rawValue)), .bool($0.isBinary), .string(String(decoding: Base64.encode($0.payload), as: UTF8.self))])
                            })),
                    JSONMember("state", .string(String(decoding: Base64.encode(moved.state), as: UTF8.self))),
                ])
            }
            return .object([
                JSONMember("m", "moved"), JSONMember("id", .int(Int64(bitPattern: id))), JSONMember("reason", .string(reason)), JSONMember("session", session),
            ])
        case .upper(let from, let message):
            return .object([JSONMember("m", "up"), JSONMember("from", .string(from)), body(message)])
        }
    }

    /// A body as text when it is UTF-8 (polling payloads are), base64 otherwise.
    private static func body(_ bytes: [UInt8]) -> JSONMember {
        if let text = String(validating: bytes, as: UTF8.self) { return JSONMember("body", .string(text)) }
        return JSONMember("body64", .string(String(decoding: Base64.encode(bytes), as: UTF8.self)))
    }

    /// The compact binary form (``NodeMessageBinary``), for a carrier only quench nodes of this version or
    /// later read (the direct link); ``decode(_:)`` reads it as well.
    public static func encodeCompact(_ message: NodeMessage) -> [UInt8] {
        NodeMessageBinary.encode(message)
    }

    /// Either form: the compact one begins with a byte JSON never does.
    public static func decode(_ bytes: [UInt8]) throws(NodeMessageError) -> NodeMessage {
        if bytes.first == NodeMessageBinary.magic { return try NodeMessageBinary.decode(bytes) }
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw NodeMessageError("not JSON: \(error)") }
        if value["m"]?.stringValue == "up" { return .upper(from: try tag(value["from"]), try body(of: value)) }
        let id = try number(value["id"], "id")
        switch value["m"]?.stringValue {
        case "req":
            guard let method = value["method"]?.stringValue, ["GET", "POST"].contains(method) else { throw NodeMessageError("a method other than GET or POST") }
            let hops = try number(value["hops"], "hops")
            guard (1...2).contains(hops) else { throw NodeMessageError("hops outside 1...2") }
            let peer = try string(value["peer"], "peer")
            let origin: String? = try value["origin"] == .null ? nil : string(value["origin"], "origin")
            let request = ForwardedRequest(
                method: HTTPMethod(method), query: QueryParameters(decoded: try pairs(value["query"], "query", checked: false)),
                origin: origin, peer: try checkedPeer(peer), body: try body(of: value), hops: Int(hops))
            return .request(id: id, from: try tag(value["from"]), request)
        case "res":
            let status = try number(value["status"], "status")
            guard (100...599).contains(status) else { throw NodeMessageError("a status outside 100–599") }
            let type = try string(value["type"], "type")
            guard isHeaderText(type) else { throw NodeMessageError("a content type with control characters") }
            let headers = try pairs(value["headers"], "headers", checked: true).map { HTTPHeader($0.name, $0.value) }
            return .response(id: id, HTTPResponse(status: Int(status), contentType: type, headers: headers, body: try body(of: value)))
        case "held":
            return .held(id: id)
        case "gone":
            return .abandoned(id: id, from: try tag(value["from"]))
        case "move":
            let sid = try string(value["sid"], "sid")
            guard StoredSession.isSessionID(sid) else { throw NodeMessageError("a sid that is not a session id") }
            return .moveRequest(id: id, from: try tag(value["from"]), sid: sid)
        case "moved":
            let reason = try string(value["reason"], "reason")  // logged through LogSafe
            guard let session = value["session"], session != .null else { return .moveAnswer(id: id, nil, reason: reason) }
            let sid = try string(session["sid"], "sid")
            guard StoredSession.isSessionID(sid) else { throw NodeMessageError("a sid that is not a session id") }
            guard let queuedValues = session["queued"]?.arrayValue else { throw NodeMessageError("no \"queued\" list") }
            var queued: [EnginePacket] = []
            for entry in queuedValues {
                guard case .array(let parts) = entry, parts.count == 3, case .int(let digit) = parts[0], case .bool(let binary) = parts[1],
                    let type = EnginePacketType(rawValue: UInt8(clamping: digit)), (0...6).contains(digit),
                    let text = parts[2].stringValue, let payload = Base64.decode(Array(text.utf8))
                else { throw NodeMessageError("a queued packet that is not [type, binary, base64]") }
                queued.append(EnginePacket(type, payload, isBinary: binary && type == .message))
            }
            guard let state = Base64.decode(Array(try string(session["state"], "state").utf8)) else { throw NodeMessageError("a state that is not base64") }
            let moved = MovedSession(
                sid: sid, peer: try checkedPeer(try string(session["peer"], "peer")), transport: TransportName(try string(session["transport"], "transport")),
                queued: queued, state: state)
            return .moveAnswer(id: id, moved, reason: reason)
        default:
            throw NodeMessageError("no known \"m\"")
        }
    }

    private static func number(_ value: JSONValue?, _ field: String) throws(NodeMessageError) -> UInt64 {
        guard case .int(let number)? = value, number >= 0 else { throw NodeMessageError("no number \"\(field)\"") }
        return UInt64(number)
    }

    private static func string(_ value: JSONValue?, _ field: String) throws(NodeMessageError) -> String {
        guard let text = value?.stringValue else { throw NodeMessageError("no string \"\(field)\"") }
        return text
    }

    /// A client address as the binding writes it (an IP address, possibly with a port or brackets, or a
    /// stand-in word): it goes into log lines as it is, so nothing else is taken.
    static func checkedPeer(_ text: String) throws(NodeMessageError) -> String {
        let allowed = text.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x3A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2E || $0 == 0x5B || $0 == 0x5D
                || $0 == 0x2D || $0 == 0x5F || $0 == 0x25 || $0 == 0x20
        }
        guard (1...80).contains(text.utf8.count), allowed else { throw NodeMessageError("a peer that is not an address") }
        return text
    }

    private static func tag(_ value: JSONValue?) throws(NodeMessageError) -> String {
        let text = try string(value, "from")
        guard SessionID.isNodeTag(text) else { throw NodeMessageError("a node tag that is not 12 hex digits") }
        return text
    }

    private static func body(of value: JSONValue) throws(NodeMessageError) -> [UInt8] {
        if let text = value["body"]?.stringValue { return Array(text.utf8) }
        guard let text = value["body64"]?.stringValue, let bytes = Base64.decode(Array(text.utf8)) else { throw NodeMessageError("no body") }
        return bytes
    }

    private static func pairs(_ value: JSONValue?, _ field: String, checked: Bool) throws(NodeMessageError) -> [(name: String, value: String)] {
        guard let list = value?.arrayValue else { throw NodeMessageError("no \"\(field)\" list") }
        var result: [(name: String, value: String)] = []
        for entry in list {
            guard case .array(let pair) = entry, pair.count == 2, let name = pair[0].stringValue, let text = pair[1].stringValue else {
                throw NodeMessageError("a \(field) entry that is not [name, value]")
            }
            if checked, !(isHeaderText(name) && isHeaderText(text) && !name.isEmpty) { throw NodeMessageError("a header with control characters") }
            result.append((name, text))
        }
        return result
    }

    /// No control character (CR and LF above all): the binding writes it into a response header.
    static func isHeaderText(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F }
    }
}

/// Why a message from another node was not understood.
public struct NodeMessageError: Error, CustomStringConvertible {
    public let description: String
    package init(_ description: String) { self.description = description }
}
