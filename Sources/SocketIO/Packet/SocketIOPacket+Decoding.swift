extension SocketIOPacket {
    /// Decodes a text frame: `<type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]`.
    ///
    /// Rejects empty input, unknown types, an `N-` prefix on non-binary types (and its absence on binary ones),
    /// more than ``maxAttachments`` attachments, namespaces that are not UTF-8, ack ids longer than
    /// ``maxAckIDDigits`` digits or on types other than event/ack, acks without an ack id, invalid JSON or
    /// trailing bytes, and data of the wrong shape: event needs a non-empty array starting with a string,
    /// ack an array, connect an object or nothing, connectError an object or a string, disconnect nothing.
    /// For binary packets the placeholders are checked against the declared count; the data keeps them
    /// until ``reconstructingBinary(_:)`` is called with the attachments.
    /// - Parameter bytes: The UTF-8 text frame.
    public static func decode(_ bytes: some Collection<UInt8>) throws(SocketIOPacketError) -> SocketIOPacket {
        try JSONParser.withBuffer(bytes) { (buffer) throws(SocketIOPacketError) in
            try decode(buffer: buffer)
        }
    }

    /// Decodes a text frame; the fast entry point for arrays.
    public static func decode(_ bytes: [UInt8]) throws(SocketIOPacketError) -> SocketIOPacket {
        try bytes.withUnsafeBufferPointer { (buffer) throws(SocketIOPacketError) in try decode(buffer: buffer) }
    }

    /// Decodes a text frame held in a slice.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws(SocketIOPacketError) -> SocketIOPacket {
        try bytes.withUnsafeBufferPointer { (buffer) throws(SocketIOPacketError) in try decode(buffer: buffer) }
    }

    /// Decodes a text frame from memory the caller keeps alive for the call.
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>) throws(SocketIOPacketError) -> SocketIOPacket {
        try decode(buffer: bytes)
    }

    /// Decodes a text frame given as a string.
    public static func decode(_ text: String) throws(SocketIOPacketError) -> SocketIOPacket {
        var text = text
        let result = text.withUTF8 { buffer in
            Result { () throws(SocketIOPacketError) in try decode(buffer: buffer) }
        }
        return try result.get()
    }

    /// Returns this binary packet with its placeholders replaced by `attachments`.
    /// - Parameter attachments: The binary messages that followed the text frame, in order; their number must
    ///   equal ``attachmentCount`` and the placeholders found.
    public func reconstructingBinary(_ attachments: [[UInt8]]) throws(SocketIOPacketError) -> SocketIOPacket {
        guard attachments.count == attachmentCount else {
            throw SocketIOPacketError(.attachmentMismatch, "declared \(attachmentCount), received \(attachments.count)")
        }
        var packet = self
        if let data {
            packet.data = try BinaryPlaceholders.reconstruct(data, attachments: attachments)
        }
        return packet
    }

    static func decode(buffer: UnsafeBufferPointer<UInt8>) throws(SocketIOPacketError) -> SocketIOPacket {
        guard let first = buffer.first else { throw SocketIOPacketError(.emptyPacket) }
        guard JSONByte.isDigit(first), let type = SocketIOPacketType(rawValue: first &- JSONByte.zero) else {
            throw SocketIOPacketError(.unknownType, "first byte \(first)")
        }
        var packet = SocketIOPacket(type: type)
        var index = 1

        if type.isBinary {
            let digitsStart = index
            var count = 0
            while index < buffer.count, JSONByte.isDigit(buffer[index]) {
                count = count * 10 + Int(buffer[index] &- JSONByte.zero)
                index += 1
                if count > maxAttachments {
                    throw SocketIOPacketError(.invalidAttachmentCount, "more than \(maxAttachments)")
                }
            }
            guard index > digitsStart, index < buffer.count, buffer[index] == JSONByte.minus else {
                throw SocketIOPacketError(.invalidAttachmentCount, "expected <digits>- after the type")
            }
            index += 1
            packet.attachmentCount = count
        }

        if index < buffer.count && buffer[index] == JSONByte.slash {
            let start = index
            while index < buffer.count && buffer[index] != JSONByte.comma {
                index += 1
            }
            let bytes = UnsafeBufferPointer(rebasing: buffer[start..<index])
            if JSONUTF8.firstInvalidOffset(bytes) != nil {
                throw SocketIOPacketError(.invalidNamespace, "not UTF-8")
            }
            packet.namespace = String(decoding: bytes, as: UTF8.self)
            if index < buffer.count { index += 1 }  // ','
        }

        if index < buffer.count && JSONByte.isDigit(buffer[index]) {
            let start = index
            var id: UInt64 = 0
            while index < buffer.count, JSONByte.isDigit(buffer[index]) {
                guard index - start < maxAckIDDigits else {
                    throw SocketIOPacketError(.invalidAckID, "more than \(maxAckIDDigits) digits")
                }
                id = id * 10 + UInt64(buffer[index] &- JSONByte.zero)
                index += 1
            }
            if index < buffer.count && buffer[index] == JSONByte.minus {
                throw SocketIOPacketError(.unexpectedAttachments, "\(type)")
            }
            guard type.allowsAckID else { throw SocketIOPacketError(.unexpectedAckID, "\(type)") }
            packet.ackID = id
        }

        if index < buffer.count {
            if buffer[index] == JSONByte.minus && !type.isBinary {
                throw SocketIOPacketError(.unexpectedAttachments, "\(type)")
            }
            do {
                packet.data = try JSONParser.parse(buffer: buffer, from: index)
            } catch {
                if error.offset == index && error.code == .unexpectedCharacter
                    && UnsafeBufferPointer(rebasing: buffer[index...]).contains(JSONByte.comma)
                {
                    throw SocketIOPacketError(.invalidNamespace, "a namespace must start with '/'")
                }
                throw SocketIOPacketError(.invalidJSON, error.description)
            }
        }

        try packet.validatePayload()
        return packet
    }

    /// Checks that `data` (and the ack id) have the shape the packet type requires.
    func validatePayload() throws(SocketIOPacketError) {
        switch type {
        case .connect:
            if let data, !data.isObject {
                throw SocketIOPacketError(.invalidPayload, "connect data must be an object")
            }
        case .disconnect:
            if data != nil {
                throw SocketIOPacketError(.invalidPayload, "disconnect carries no data")
            }
        case .connectError:
            guard let data, data.isObject || data.stringValue != nil else {
                throw SocketIOPacketError(.invalidPayload, "connect error data must be an object or a string")
            }
        case .event, .binaryEvent:
            guard data?[0]?.stringValue != nil else {
                throw SocketIOPacketError(.invalidPayload, "event data must be an array starting with the event name")
            }
        case .ack, .binaryAck:
            guard ackID != nil else { throw SocketIOPacketError(.missingAckID) }
            guard data?.arrayValue != nil else {
                throw SocketIOPacketError(.invalidPayload, "ack data must be an array")
            }
        }
        if type.isBinary, let data {
            try BinaryPlaceholders.validate(data, attachmentCount: attachmentCount)
        }
    }
}
