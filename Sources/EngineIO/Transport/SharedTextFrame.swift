/// One Engine.IO text packet, framed once as a whole WebSocket text frame for every recipient of a broadcast.
///
/// Frames a server sends are not masked (RFC 6455, 5.1), so the bytes on the wire (header, type digit,
/// payload) are the same for every WebSocket that gets the packet: they are built here once, and a
/// connection that can write at once hands these very bytes to its socket, copying nothing and framing
/// nothing per recipient. A recipient that cannot (a polling session, a WebSocket with frames waiting)
/// takes ``packet`` the ordinary way.
///
/// The buffer is allocated once, holds the header plus the packet (its size bounded by the packet's), and
/// is freed with the frame when the broadcast that made it is done. Service thread, like every send.
public final class SharedTextFrame {
    /// The packet, for recipients that queue it or carry it over polling.
    public let packet: EnginePacket
    /// The whole frame: header, type digit, payload.
    public let bytes: UnsafeMutableRawBufferPointer
    /// What the frame counts against a connection's outbound budget: the type digit and payload, as a
    /// queued frame of the same packet counts (the framing is not counted).
    public let countedLength: Int

    /// - Parameter packet: a text packet (a binary one travels as a binary frame and is not shared this way).
    public init(_ packet: EnginePacket) {
        precondition(!packet.isBinary, "a shared text frame carries a text packet")
        self.packet = packet
        countedLength = packet.payload.count &+ 1
        let header = Self.header(payloadLength: countedLength)
        bytes = .allocate(byteCount: header.count &+ countedLength, alignment: 16)
        var cursor = bytes.baseAddress!
        header.withUnsafeBytes { cursor.copyMemory(from: $0.baseAddress!, byteCount: header.count) }
        cursor += header.count
        cursor.storeBytes(of: packet.type.digit, as: UInt8.self)
        cursor += 1
        packet.payload.withUnsafeBytes { payload in
            if let base = payload.baseAddress { cursor.copyMemory(from: base, byteCount: payload.count) }
        }
    }

    deinit { bytes.deallocate() }

    /// The header of an unmasked, final text frame of `payloadLength` bytes (RFC 6455, 5.2): FIN and opcode 1,
    /// then the length in 7 bits, or 126 and 16 bits, or 127 and 64 bits (network byte order).
    public static func header(payloadLength: Int) -> [UInt8] {
        let finText: UInt8 = 0x81
        if payloadLength < 126 { return [finText, UInt8(payloadLength)] }
        if payloadLength <= 0xFFFF { return [finText, 126, UInt8(payloadLength >> 8), UInt8(payloadLength & 0xFF)] }
        return [finText, 127] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: UInt64(payloadLength) >> (8 * UInt64($0))) }
    }
}
