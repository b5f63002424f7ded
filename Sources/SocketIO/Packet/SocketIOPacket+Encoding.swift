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
        var text: [UInt8] = []
        text.reserveCapacity(64)
        var wireType = type
        var binaryCount = 0
        if type.allowsAckID {
            binaryCount = data?.binaryCount ?? 0
            switch type {
            case .event, .binaryEvent: wireType = binaryCount > 0 ? .binaryEvent : .event
            default: wireType = binaryCount > 0 ? .binaryAck : .ack
            }
        }
        text.append(JSONByte.zero &+ wireType.rawValue)
        if binaryCount > 0 {
            JSONWriter.appendInteger(Int64(binaryCount), to: &text)
            text.append(JSONByte.minus)
        }
        if namespace != "/" && !namespace.isEmpty {
            if !namespace.hasPrefix("/") { text.append(JSONByte.slash) }
            text.append(contentsOf: namespace.utf8)
            text.append(JSONByte.comma)
        }
        if let ackID {
            JSONWriter.appendInteger(Int64(truncatingIfNeeded: ackID), to: &text)
        }
        guard let data else { return (text, []) }
        if binaryCount == 0 {
            JSONWriter.append(data, to: &text)
            return (text, [])
        }
        var sink = JSONWriter.BinarySink.collect([])
        JSONWriter.append(data, to: &text, binary: &sink)
        guard case .collect(let attachments) = sink else { return (text, []) }
        return (text, attachments)
    }

    /// The text frame as a string (see ``encode()``); attachments are dropped, so use this only for packets
    /// without binaries.
    public var encodedText: String {
        String(decoding: encode().text, as: UTF8.self)
    }
}
