extension SocketIOPacket {
    /// The highest ack id accepted in a msgpack packet: the JSON decoder's 15 digits, so both parsers refuse
    /// alike (and the id stays exact in JavaScript).
    static let maxMsgPackAckID: Int64 = 999_999_999_999_999

    /// Decodes one binary message as socket.io-msgpack-parser and python-socketio write it: a map with
    /// `type` (0–4: msgpack packets never use the binary types, binaries travel inside as bin), `nsp` (a str;
    /// nil or missing is `/`, as python-socketio reads it), `data` (nil or missing is none) and `id` (an
    /// int). Other keys are ignored, as both references do. The data must then have the shape the type
    /// requires, exactly as for the JSON format (``decode(_:)-swift.type.method``).
    /// - Parameter bytes: The Engine.IO binary message.
    public static func decodeMsgPack(_ bytes: [UInt8]) throws(SocketIOPacketError) -> SocketIOPacket {
        let value: JSONValue
        do { value = try MsgPackReader.read(bytes) } catch { throw SocketIOPacketError(.invalidMsgPack, error.description) }
        guard case .object = value else { throw SocketIOPacketError(.invalidMsgPack, "not a map") }
        guard case .int(let number)? = value["type"], (0...4).contains(number),
            let type = SocketIOPacketType(rawValue: UInt8(number))
        else {
            throw SocketIOPacketError(.unknownType, "\"type\" is not an int 0-4")
        }
        var packet = SocketIOPacket(type: type)
        switch value["nsp"] {
        case .string(let namespace)?:
            guard namespace.utf8.first == UInt8(ascii: "/") else {
                throw SocketIOPacketError(.invalidNamespace, "a namespace must start with '/'")
            }
            packet.namespace = namespace
        case .null?, nil: break
        default: throw SocketIOPacketError(.invalidNamespace, "\"nsp\" is not a str")
        }
        switch value["id"] {
        case .int(let id)?:
            guard id >= 0 && id <= maxMsgPackAckID else { throw SocketIOPacketError(.invalidAckID, "\(id)") }
            guard type.allowsAckID else { throw SocketIOPacketError(.unexpectedAckID, "\(type)") }
            packet.ackID = UInt64(id)
        case .null?, nil: break
        default: throw SocketIOPacketError(.invalidAckID, "\"id\" is not an int")
        }
        if let data = value["data"], data != .null { packet.data = data }
        try packet.validatePayload()
        return packet
    }

    /// Encodes the packet as one msgpack message: `{type, data, nsp}` plus `id` when there is one, keys
    /// in python-socketio's order; `data` left out when there is none (socket.io-msgpack-parser refuses a
    /// DISCONNECT whose data is nil). Binaries stay in place as bin and the type stays event/ack.
    public func encodeMsgPack() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        Self.appendMsgPackHead(type: type, hasData: data != nil, ackID: ackID, to: &out)
        if let data {
            MsgPackWriter.appendString("data", to: &out)
            MsgPackWriter.append(data, to: &out)
        }
        Self.appendMsgPackTail(namespace: namespace, ackID: ackID, to: &out)
        return out
    }

    /// An event as ``encodeMsgPack()`` writes ``event(_:_:namespace:ackID:)``, with `trailing` (a recovery
    /// offset) as one more argument, without building the `[name, args…]` array first.
    static func encodeMsgPackEvent(
        _ name: String, _ arguments: [JSONValue], namespace: String, ackID: UInt64?, trailing: String? = nil
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        appendMsgPackHead(type: .event, hasData: true, ackID: ackID, to: &out)
        MsgPackWriter.appendString("data", to: &out)
        MsgPackWriter.appendArrayHeader(count: 1 + arguments.count + (trailing == nil ? 0 : 1), to: &out)
        MsgPackWriter.appendString(name, to: &out)
        for argument in arguments { MsgPackWriter.append(argument, to: &out) }
        if let trailing { MsgPackWriter.appendString(trailing, to: &out) }
        appendMsgPackTail(namespace: namespace, ackID: ackID, to: &out)
        return out
    }

    /// The map header and `type` (a binary type is written as the plain one: msgpack has no attachments).
    private static func appendMsgPackHead(type: SocketIOPacketType, hasData: Bool, ackID: UInt64?, to out: inout [UInt8]) {
        var wireType = type
        if type == .binaryEvent { wireType = .event }
        if type == .binaryAck { wireType = .ack }
        out.append(0x80 | UInt8(2 + (hasData ? 1 : 0) + (ackID == nil ? 0 : 1)))
        MsgPackWriter.appendString("type", to: &out)
        MsgPackWriter.appendInteger(Int64(wireType.rawValue), to: &out)
    }

    private static func appendMsgPackTail(namespace: String, ackID: UInt64?, to out: inout [UInt8]) {
        MsgPackWriter.appendString("nsp", to: &out)
        if namespace.isEmpty {
            MsgPackWriter.appendString("/", to: &out)
        } else if namespace.utf8.first != UInt8(ascii: "/") {
            MsgPackWriter.appendString("/" + namespace, to: &out)
        } else {
            MsgPackWriter.appendString(namespace, to: &out)
        }
        if let ackID {
            MsgPackWriter.appendString("id", to: &out)
            MsgPackWriter.appendInteger(Int64(truncatingIfNeeded: ackID), to: &out)
        }
    }
}
