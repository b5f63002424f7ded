import EngineIO

/// The Socket.IO v5 packet types; the raw value is the wire digit.
public enum SocketIOPacketType: UInt8, Sendable, CaseIterable {
    /// `0`: connect to a namespace (client → server: optional auth object; server → client: `{"sid":…}`).
    case connect = 0
    /// `1`: disconnect from a namespace; no data.
    case disconnect
    /// `2`: an event; data is `[name, args…]`.
    case event
    /// `3`: an acknowledgement; data is the array of reply arguments.
    case ack
    /// `4`: refusal of a connect; data is `{"message":…}` (a bare string is accepted when decoding).
    case connectError
    /// `5`: an event with binary attachments following as separate Engine.IO binary messages.
    case binaryEvent
    /// `6`: an acknowledgement with binary attachments.
    case binaryAck

    /// True for ``binaryEvent`` and ``binaryAck``.
    public var isBinary: Bool { self == .binaryEvent || self == .binaryAck }

    /// True for the types that may carry an ack id: events and acks, text or binary.
    public var allowsAckID: Bool { self == .event || self == .ack || self == .binaryEvent || self == .binaryAck }
}

/// One Socket.IO v5 packet: `<type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]`.
public struct SocketIOPacket: Equatable, Sendable {
    /// The packet type.
    public var type: SocketIOPacketType
    /// The namespace, `"/"` by default; omitted on the wire when `"/"`.
    public var namespace: String
    /// The ack id: on an event, the sender wants an ack with this id; on an ack, the id being answered.
    public var ackID: UInt64?
    /// connect: optional auth object; connectError: `{"message":…}`; event: `[name, args…]`; ack: array;
    /// disconnect: nil. After decoding a binary packet, holds placeholders until reconstructed.
    public var data: JSONValue?
    /// binaryEvent/binaryAck only: the number of binary attachments that follow the text frame.
    public var attachmentCount: Int

    /// Creates a packet.
    /// - Parameters:
    ///   - type: The packet type.
    ///   - namespace: The namespace; default `"/"`.
    ///   - ackID: The ack id; default none.
    ///   - data: The payload; default none.
    ///   - attachmentCount: Binary attachments expected after the text frame; default 0. The encoder ignores it
    ///     and counts the `.binary` values in `data` instead.
    public init(
        type: SocketIOPacketType,
        namespace: String = "/",
        ackID: UInt64? = nil,
        data: JSONValue? = nil,
        attachmentCount: Int = 0
    ) {
        self.type = type
        self.namespace = namespace
        self.ackID = ackID
        self.data = data
        self.attachmentCount = attachmentCount
    }

    /// The largest attachment count ``decode(_:)`` accepts. Clients send one attachment per binary value
    /// (Buffer, ArrayBuffer, bytes) among the arguments; Node's socket.io-parser (4.2.6 and later) refuses
    /// more than 10 by default. 100 leaves room for apps that raised that, while a header announcing
    /// thousands is refused before its JSON is parsed. Their bytes are bounded apart from this, by the
    /// server (``SocketIOServer``: all attachments of a packet together at most maxPayload).
    public static let maxAttachments = 100
    /// The most digits ``decode(_:)`` accepts in an ack id (15 digits stay below 2^53, exact in JavaScript).
    public static let maxAckIDDigits = 15
}

extension SocketIOPacket {
    /// An event packet: data `[name, args…]`.
    /// - Parameters:
    ///   - name: The event name.
    ///   - arguments: The event arguments.
    ///   - namespace: The namespace; default `"/"`.
    ///   - ackID: Ask the receiver to acknowledge with this id; default none.
    public static func event(
        _ name: String,
        _ arguments: [JSONValue] = [],
        namespace: String = "/",
        ackID: UInt64? = nil
    ) -> SocketIOPacket {
        SocketIOPacket(type: .event, namespace: namespace, ackID: ackID, data: .array([.string(name)] + arguments))
    }

    /// The event name when this is an event with a well-formed payload.
    public var eventName: String? {
        guard type == .event || type == .binaryEvent else { return nil }
        return data?[0]?.stringValue
    }

    /// The event arguments (after the name) or the ack arguments; empty for other packets.
    public var arguments: ArraySlice<JSONValue> {
        guard let elements = data?.arrayValue else { return [] }
        switch type {
        case .event, .binaryEvent: return elements.dropFirst()
        case .ack, .binaryAck: return elements[...]
        case .connect, .disconnect, .connectError: return []
        }
    }
}

/// Why a Socket.IO packet (or its binary attachments) was rejected.
public struct SocketIOPacketError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The kind of failure; compare against the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case emptyPacket
            case unknownType
            case invalidAttachmentCount
            case unexpectedAttachments
            case invalidNamespace
            case invalidAckID
            case unexpectedAckID
            case missingAckID
            case invalidJSON
            case invalidPayload
            case invalidPlaceholder
            case attachmentMismatch
            case attachmentsTooLarge
            case invalidMsgPack
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The frame has no bytes.
        public static let emptyPacket = Code(.emptyPacket)
        /// The first byte is not a digit 0–6.
        public static let unknownType = Code(.unknownType)
        /// A binary packet whose `N-` prefix is missing, malformed or above ``SocketIOPacket/maxAttachments``.
        public static let invalidAttachmentCount = Code(.invalidAttachmentCount)
        /// An `N-` attachments prefix on a non-binary packet.
        public static let unexpectedAttachments = Code(.unexpectedAttachments)
        /// A namespace that is not valid UTF-8 or does not start with `/`.
        public static let invalidNamespace = Code(.invalidNamespace)
        /// An ack id longer than ``SocketIOPacket/maxAckIDDigits`` digits.
        public static let invalidAckID = Code(.invalidAckID)
        /// An ack id on a packet type that cannot carry one.
        public static let unexpectedAckID = Code(.unexpectedAckID)
        /// An ack packet without an ack id.
        public static let missingAckID = Code(.missingAckID)
        /// The data is not valid JSON (or has trailing bytes).
        public static let invalidJSON = Code(.invalidJSON)
        /// The data is valid JSON of the wrong shape for the packet type.
        public static let invalidPayload = Code(.invalidPayload)
        /// A `_placeholder` object that is malformed or whose `num` is out of range or repeated.
        public static let invalidPlaceholder = Code(.invalidPlaceholder)
        /// The number of placeholders differs from the number of attachments.
        public static let attachmentMismatch = Code(.attachmentMismatch)
        /// A binary packet's attachments together exceed the byte budget the server allows (maxPayload).
        public static let attachmentsTooLarge = Code(.attachmentsTooLarge)
        /// With the msgpack parser: a message that is not MessagePack, not a packet map, or a text message.
        public static let invalidMsgPack = Code(.invalidMsgPack)

        /// A short human-readable name of the failure.
        public var description: String {
            switch base {
            case .emptyPacket: "empty packet"
            case .unknownType: "unknown packet type"
            case .invalidAttachmentCount: "invalid attachment count"
            case .unexpectedAttachments: "attachments on a non-binary packet"
            case .invalidNamespace: "invalid namespace"
            case .invalidAckID: "ack id too long"
            case .unexpectedAckID: "ack id not allowed on this packet type"
            case .missingAckID: "ack packet without ack id"
            case .invalidJSON: "invalid JSON"
            case .invalidPayload: "invalid payload"
            case .invalidPlaceholder: "invalid binary placeholder"
            case .attachmentMismatch: "attachment count mismatch"
            case .attachmentsTooLarge: "attachments too large"
            case .invalidMsgPack: "invalid msgpack packet"
            }
        }
    }

    /// The kind of failure.
    public let code: Code
    /// Detail for logs, e.g. the JSON error or the offending packet type.
    public let detail: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - detail: Detail for logs; default empty.
    public init(_ code: Code, _ detail: String = "") {
        self.code = code
        self.detail = detail
    }

    /// For example `invalid JSON: unexpected character 'x' at byte 12`.
    public var description: String {
        detail.isEmpty ? code.description : "\(code): \(LogSafe.text(detail, limit: 200))"
    }
}
