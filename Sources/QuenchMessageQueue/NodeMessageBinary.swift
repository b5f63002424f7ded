import EngineIO
import SocketIO

/// The compact form of the messages between two quench nodes' engines, for carriers only quench nodes
/// speak (the direct link between nodes): no JSON tree is built or parsed, and a body travels as it is
/// rather than as an escaped or base64 string. The JSON form (``NodeMessageCodec/encode(_:)``) stays on the
/// message queue, where a node of an earlier quench may read it.
///
/// A message is the byte ``magic``, a kind byte, an id (0 where the kind has none), then the kind's fields
/// in a fixed order: numbers as
/// unsigned LEB128 varints, byte strings and texts as a varint length and the bytes, a node tag as its text,
/// an optional value as a 0/1 byte and the value, a list as a varint count and its entries. Decoding checks
/// exactly what the JSON form's decoding checks (``NodeMessageCodec/decode(_:)`` reads both), and a count or
/// length can never exceed the bytes left, so a forged one cannot make it allocate more than the message.
enum NodeMessageBinary {
    /// The first byte: never `{`, so one decoder tells the two forms apart.
    static let magic: UInt8 = 0xB1

    private enum Kind: UInt8 {
        case request = 1, response, held, abandoned, moveRequest, moveAnswer, upper
    }

    static func encode(_ message: NodeMessage) -> [UInt8] {
        var out = Writer()
        switch message {
        case .request(let id, let from, let request):
            out.header(.request, id: id)
            out.text(from)
            out.byte(request.method == .get ? 0 : request.method == .post ? 1 : 2)  // 2: refused when read, as in JSON
            let query = request.query.all
            out.number(UInt64(query.count))
            for pair in query {
                out.text(pair.name)
                out.text(pair.value)
            }
            out.optionalText(request.origin)
            out.text(request.peer)
            out.number(UInt64(max(request.hops, 0)))
            out.bytes(request.body)
        case .response(let id, let response):
            out.header(.response, id: id)
            out.number(UInt64(max(response.status, 0)))
            out.text(response.contentType)
            out.number(UInt64(response.headers.count))
            for header in response.headers {
                out.text(header.name)
                out.text(header.value)
            }
            out.bytes(response.body)
        case .held(let id):
            out.header(.held, id: id)
        case .abandoned(let id, let from):
            out.header(.abandoned, id: id)
            out.text(from)
        case .moveRequest(let id, let from, let sid):
            out.header(.moveRequest, id: id)
            out.text(from)
            out.text(sid)
        case .moveAnswer(let id, let moved, let reason):
            out.header(.moveAnswer, id: id)
            out.text(reason)
            guard let moved else {
                out.byte(0)
                break
            }
            out.byte(1)
            out.text(moved.sid)
            out.text(moved.peer)
            out.text(moved.transport.rawValue)
            out.number(UInt64(moved.queued.count))
            for packet in moved.queued {
                out.byte(packet.type.rawValue)
                out.byte(packet.isBinary ? 1 : 0)
                out.bytes(packet.payload)
            }
            out.bytes(moved.state)
        case .upper(let from, let body):
            out.header(.upper, id: 0)
            out.text(from)
            out.bytes(body)
        }
        return out.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(NodeMessageError) -> NodeMessage {
        var input = Reader(bytes)
        guard try input.byte() == Self.magic, let kind = Kind(rawValue: try input.byte()) else { throw NodeMessageError("no known kind") }
        let id = try input.number()
        guard id <= UInt64(Int64.max) else { throw NodeMessageError("an id past 2^63 - 1, which the JSON form cannot carry") }
        let message: NodeMessage
        switch kind {
        case .upper:
            message = .upper(from: try input.tag(), try input.bytes())
        case .request:
            let from = try input.tag()
            let method: HTTPMethod
            switch try input.byte() {
            case 0: method = .get
            case 1: method = .post
            default: throw NodeMessageError("a method other than GET or POST")
            }
            var query: [(name: String, value: String)] = []
            for _ in 0..<(try input.count()) { query.append((try input.text(), try input.text())) }
            let origin = try input.optionalText()
            let peer = try NodeMessageCodec.checkedPeer(try input.text())
            let hops = try input.number()
            guard (1...2).contains(hops) else { throw NodeMessageError("hops outside 1...2") }
            let request = ForwardedRequest(
                method: method, query: QueryParameters(decoded: query), origin: origin, peer: peer, body: try input.bytes(), hops: Int(hops))
            message = .request(id: id, from: from, request)
        case .response:
            let status = try input.number()
            guard (100...599).contains(status) else { throw NodeMessageError("a status outside 100–599") }
            let type = try input.text()
            guard NodeMessageCodec.isHeaderText(type) else { throw NodeMessageError("a content type with control characters") }
            var headers: [HTTPHeader] = []
            for _ in 0..<(try input.count()) {
                let name = try input.text(), value = try input.text()
                guard !name.isEmpty, NodeMessageCodec.isHeaderText(name), NodeMessageCodec.isHeaderText(value) else {
                    throw NodeMessageError("a header with control characters")
                }
                headers.append(HTTPHeader(name, value))
            }
            message = .response(id: id, HTTPResponse(status: Int(status), contentType: type, headers: headers, body: try input.bytes()))
        case .held:
            message = .held(id: id)
        case .abandoned:
            message = .abandoned(id: id, from: try input.tag())
        case .moveRequest:
            let from = try input.tag()
            message = .moveRequest(id: id, from: from, sid: try input.sessionID())
        case .moveAnswer:
            let reason = try input.text()  // logged through LogSafe
            guard try input.flag() else {
                message = .moveAnswer(id: id, nil, reason: reason)
                break
            }
            let sid = try input.sessionID()
            let peer = try NodeMessageCodec.checkedPeer(try input.text())
            let transport = TransportName(try input.text())
            var queued: [EnginePacket] = []
            for _ in 0..<(try input.count()) {
                let digit = try input.byte()
                guard digit <= 6, let type = EnginePacketType(rawValue: digit) else { throw NodeMessageError("a queued packet of no known type") }
                let binary = try input.flag()
                queued.append(EnginePacket(type, try input.bytes(), isBinary: binary && type == .message))
            }
            let state = try input.bytes()
            message = .moveAnswer(id: id, MovedSession(sid: sid, peer: peer, transport: transport, queued: queued, state: state), reason: reason)
        }
        try input.end()
        return message
    }

    private struct Writer {
        var bytes: [UInt8] = []

        init() { bytes.reserveCapacity(256) }

        mutating func byte(_ value: UInt8) { bytes.append(value) }

        mutating func number(_ value: UInt64) {
            var rest = value
            while rest >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
                rest >>= 7
            }
            bytes.append(UInt8(rest))
        }

        mutating func bytes(_ value: [UInt8]) {
            number(UInt64(value.count))
            bytes.append(contentsOf: value)
        }

        mutating func text(_ value: String) {
            var value = value
            value.withUTF8 { utf8 in
                number(UInt64(utf8.count))
                bytes.append(contentsOf: utf8)
            }
        }

        mutating func optionalText(_ value: String?) {
            guard let value else { return byte(0) }
            byte(1)
            text(value)
        }

        mutating func header(_ kind: Kind, id: UInt64) {
            byte(NodeMessageBinary.magic)
            byte(kind.rawValue)
            number(id)
        }
    }

    private struct Reader {
        let input: [UInt8]
        var at = 0

        init(_ input: [UInt8]) { self.input = input }

        mutating func byte() throws(NodeMessageError) -> UInt8 {
            guard at < input.count else { throw NodeMessageError("cut short") }
            defer { at += 1 }
            return input[at]
        }

        mutating func flag() throws(NodeMessageError) -> Bool {
            switch try byte() {
            case 0: return false
            case 1: return true
            default: throw NodeMessageError("a flag that is neither 0 nor 1")
            }
        }

        /// At most 10 bytes, and no bits past the 64th.
        mutating func number() throws(NodeMessageError) -> UInt64 {
            var value: UInt64 = 0
            for shift in stride(from: 0, to: 70, by: 7) {
                let next = try byte()
                let bits = UInt64(next & 0x7F)
                guard shift < 63 || bits <= 1 else { throw NodeMessageError("a number past 64 bits") }
                value |= bits << UInt64(shift)
                if next & 0x80 == 0 { return value }
            }
            throw NodeMessageError("a number past 64 bits")
        }

        /// A count of entries, each at least a byte long: never more than the bytes left.
        mutating func count() throws(NodeMessageError) -> Int {
            let count = try number()
            guard count <= UInt64(input.count - at) else { throw NodeMessageError("a count past the message's end") }
            return Int(count)
        }

        mutating func bytes() throws(NodeMessageError) -> [UInt8] {
            let length = try count()
            defer { at += length }
            return Array(input[at..<(at + length)])
        }

        mutating func text() throws(NodeMessageError) -> String {
            let length = try count()
            defer { at += length }
            guard let text = String(validating: input[at..<(at + length)], as: UTF8.self) else { throw NodeMessageError("a text that is not UTF-8") }
            return text
        }

        mutating func optionalText() throws(NodeMessageError) -> String? {
            try flag() ? try text() : nil
        }

        mutating func tag() throws(NodeMessageError) -> String {
            let text = try text()
            guard SessionID.isNodeTag(text) else { throw NodeMessageError("a node tag that is not 12 hex digits") }
            return text
        }

        mutating func sessionID() throws(NodeMessageError) -> String {
            let sid = try text()
            guard StoredSession.isSessionID(sid) else { throw NodeMessageError("a sid that is not a session id") }
            return sid
        }

        func end() throws(NodeMessageError) {
            guard at == input.count else { throw NodeMessageError("bytes after the message's end") }
        }
    }
}
