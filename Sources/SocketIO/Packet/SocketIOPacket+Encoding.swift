extension SocketIOPacket {
    /// Encodes the text frame and collects the binary attachments.
    ///
    /// For event and ack packets (text or binary), every `.binary` inside ``data`` is written as a placeholder
    /// `{"_placeholder":true,"num":N}` and returned as attachment N; with at least one attachment the type becomes
    /// binaryEvent/binaryAck and the text starts with `<type><count>-`, without any it is event/ack.
    /// ``attachmentCount`` is ignored. Other types cannot carry attachments: a `.binary` there is written as
    /// `null`. The namespace is written (followed by `,`) unless it is `"/"` or empty; one not starting with `/`
    /// gets one prepended.
    /// - Returns: The text frame as UTF-8 bytes and the attachments to send after it as binary messages.
    public func encode() -> (text: [UInt8], attachments: [[UInt8]]) {
        var writer = PacketTextWriter(type: type, namespace: namespace, ackID: ackID)
        if let data { writer.append(data) }
        return writer.finish()
    }

    /// Encodes an event straight from its parts, as ``encode()`` would encode
    /// ``event(_:_:namespace:ackID:)``, without building the `[name, args…]` array first.
    static func encodeEvent(
        _ name: String, _ arguments: [JSONValue], namespace: String, ackID: UInt64?
    ) -> (text: [UInt8], attachments: [[UInt8]]) {
        var writer = PacketTextWriter(type: .event, namespace: namespace, ackID: ackID)
        writer.appendEvent(name, arguments)
        return writer.finish()
    }

    /// An event with a connection-state-recovery offset as its last argument (the reference server appends it
    /// to the data array the same way). A path of its own, so emits without recovery pay nothing for it.
    static func encodeEvent(
        _ name: String, _ arguments: [JSONValue], namespace: String, offset: String
    ) -> (text: [UInt8], attachments: [[UInt8]]) {
        var writer = PacketTextWriter(type: .event, namespace: namespace, ackID: nil)
        writer.appendEvent(name, arguments, trailing: offset)
        return writer.finish()
    }

    /// The text frame as a string (see ``encode()``); attachments are dropped, so use this only for packets
    /// without binaries.
    public var encodedText: String {
        String(decoding: encode().text, as: UTF8.self)
    }
}

/// Writes one packet's text frame.
///
/// Binary attachments are rare, so the frame is written as if there were none: no walk over the data to
/// count them first. Attachments met on the way become placeholders and, only then, the header is written
/// again with the binary type and the count.
struct PacketTextWriter {
    private var text: [UInt8] = []
    private let type: SocketIOPacketType
    private let namespace: String
    private let ackID: UInt64?
    private var binary: JSONWriter.BinarySink
    private var headerLength = 0

    init(type: SocketIOPacketType, namespace: String, ackID: UInt64?) {
        self.type = type
        self.namespace = namespace
        self.ackID = ackID
        binary = type.allowsAckID ? .collect([]) : .writeNull
        // Room for a typical reply in the first allocation (growing it would copy).
        text.reserveCapacity(128)
        Self.appendHeader(type: type, namespace: namespace, ackID: ackID, attachmentCount: 0, to: &text)
        headerLength = text.count
    }

    mutating func append(_ value: JSONValue) {
        JSONWriter.append(value, to: &text, binary: &binary)
    }

    /// `[name, args…]`, or `[name, args…, trailing]` with a trailing string (connection state recovery's
    /// offset) written as one more argument.
    mutating func appendEvent(_ name: String, _ arguments: [JSONValue], trailing: String? = nil) {
        text.append(JSONByte.openBracket)
        JSONWriter.appendString(name, to: &text)
        for argument in arguments {
            text.append(JSONByte.comma)
            JSONWriter.append(argument, to: &text, binary: &binary)
        }
        if let trailing {
            text.append(JSONByte.comma)
            JSONWriter.appendString(trailing, to: &text)
        }
        text.append(JSONByte.closeBracket)
    }

    consuming func finish() -> (text: [UInt8], attachments: [[UInt8]]) {
        guard case .collect(let attachments) = binary, !attachments.isEmpty else { return (text, []) }
        var binaryText: [UInt8] = []
        binaryText.reserveCapacity(text.count + 8)
        Self.appendHeader(type: type, namespace: namespace, ackID: ackID, attachmentCount: attachments.count, to: &binaryText)
        binaryText.append(contentsOf: text[headerLength...])
        return (binaryText, attachments)
    }

    /// `<type>[<count>-][<namespace>,][<ack id>]`; event and ack types follow the attachment count.
    /// Static, so writing into `text` never makes a copy of the writer (which would share `text` and force
    /// a copy-on-write of it).
    private static func appendHeader(
        type: SocketIOPacketType, namespace: String, ackID: UInt64?, attachmentCount: Int, to out: inout [UInt8]
    ) {
        var wireType = type
        switch type {
        case .event, .binaryEvent: wireType = attachmentCount > 0 ? .binaryEvent : .event
        case .ack, .binaryAck: wireType = attachmentCount > 0 ? .binaryAck : .ack
        case .connect, .disconnect, .connectError: break
        }
        out.append(JSONByte.zero &+ wireType.rawValue)
        if attachmentCount > 0 {
            JSONWriter.appendInteger(Int64(attachmentCount), to: &out)
            out.append(JSONByte.minus)
        }
        if namespace != "/" && !namespace.isEmpty {
            // Bytes, not characters: `hasPrefix` compares grapheme clusters, and `/` followed by a combining mark
            // (U+034F…) is one cluster that does not start with "/", which wrote a second slash (found by fuzzing).
            if namespace.utf8.first != JSONByte.slash { out.append(JSONByte.slash) }
            out.append(contentsOf: namespace.utf8)
            out.append(JSONByte.comma)
        }
        if let ackID {
            JSONWriter.appendInteger(Int64(truncatingIfNeeded: ackID), to: &out)
        }
    }
}
