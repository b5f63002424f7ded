import SocketIO

/// The decoders of connection state recovery's records in Redis (a dropped session and a missed packet),
/// which another node wrote and anyone with access to Redis could have changed.
///
/// Decodes or throws, never traps; a record that decodes is written back and decodes to the same session,
/// and a packet that decodes is written back and decodes to the same event and arguments.
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
