import EngineIO
import SocketIO

extension RedisRecoveryStore {
    /// Reads the reply of a take script (``RecoveryScripts/take`` or ``RecoveryScripts/finishTake``): nil when
    /// there was nothing to take; [record, recorder] when another node records for the session (the first
    /// phase); [record, recorder, framed owner packets, framed adopted packets, liveness] when it was taken
    /// whole. The packet lists are one bulk string each (``SocketIO/PacketFrames``), checked frame by frame
    /// when the session is restored; anything else here is `unavailable` with what was wrong, for the log.
    public static func takeAnswer(_ result: Result<RESPValue, RedisError>) -> StoreTakeAnswer {
        switch result {
        case .failure(let error): return .unavailable("\(error)")
        case .success(.null): return .notFound
        case .success(.error(let message)): return .unavailable("Redis refused the take: \(LogSafe.text(message))")
        case .success(.array(let parts)) where parts.count == 2:
            guard case .bulkString(let record) = parts[0], case .bulkString(let recorder) = parts[1] else {
                return .unavailable("unexpected reply to the take (record and recorder not strings)")
            }
            return .taking(record: record, recorder: String(decoding: recorder, as: UTF8.self))
        case .success(.array(let parts)) where parts.count == 5:
            guard case .bulkString(let record) = parts[0], case .bulkString(let recorder) = parts[1],
                case .bulkString(let owner) = parts[2], case .bulkString(let adopted) = parts[3], case .integer(let alive) = parts[4]
            else { return .unavailable("unexpected reply to the take (not record, recorder, two packet lists and liveness)") }
            return .found(
                StoreTake(
                    record: record, recorder: String(decoding: recorder, as: UTF8.self), ownerPackets: PacketFrames(bytes: owner),
                    adoptedPackets: PacketFrames(bytes: adopted), recorderAlive: alive == 1))
        case .success(.array(let parts)):
            return .unavailable("unexpected reply to the take (an array of \(parts.count) elements)")
        case .success: return .unavailable("unexpected reply to the take")
        }
    }
}
