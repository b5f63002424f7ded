import SocketIO

/// The decoders of connection state recovery's records in Redis (a dropped session, a missed packet, and a
/// take's list of missed packets framed in one string), which another node wrote and anyone with access to
/// Redis could have changed.
///
/// Decodes or throws, never traps; a record that decodes is written back and decodes to the same session,
/// a packet that decodes is written back and decodes to the same event and arguments, and a packet list that
/// decodes frames back to the same bytes (its packets then go through the packet decoder).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecovery(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let session = try? StoredSession.decode(bytes) {
        let written = session.encode()
        let again = try? StoredSession.decode(written)
        Fuzz.check(again != nil, "encoded record does not decode: \(String(decoding: written, as: UTF8.self))")
        if let again, !containsNonFinite(session) {
            Fuzz.check(again == session, "record round trip changed \(session) into \(again)")
        }
    }
    let frames = PacketFrames(bytes: bytes)
    if let packets = try? frames.packets() {
        Fuzz.check(PacketFrames(packets: packets) == frames, "packet list framed back differs: \(String(decoding: bytes, as: UTF8.self))")
        for packet in packets { _ = try? StoredPacket.decode(packet) }
    }
    if let packet = try? StoredPacket.decode(bytes) {
        let written = StoredPacket.encode(event: packet.event, arguments: packet.arguments)
        let again = try? StoredPacket.decode(written)
        Fuzz.check(again?.event == packet.event, "packet round trip changed the event \(packet.event)")
        if packet.arguments.allSatisfy({ Fuzz.normalised($0) == $0 }) {
            Fuzz.check(again?.arguments == packet.arguments, "packet round trip changed \(packet.arguments)")
        }
    }
    return 0
}

private func containsNonFinite(_ session: StoredSession) -> Bool {
    if let data = session.data, Fuzz.normalised(data) != data { return true }
    return session.packets.contains { Fuzz.normalised($0.packet) != $0.packet }
}
