import QuenchMessageQueue
import SocketIO

/// The decoder of python-socketio's pub/sub messages, as they arrive from Redis.
///
/// Decodes or throws, never traps; what decodes is encoded as quench publishes it and decodes to the same
/// operation (after the JSON writer's infinity → null), and encoding that gives the same bytes again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPubSub(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let decoded = try? PubSubMessage.decode(Array(UnsafeBufferPointer(start: data, count: size))) else { return 0 }
    let host = decoded.hostID ?? "fuzz-host"
    let written = PubSubMessage.encode(decoded.operation, hostID: host)
    let again: PubSubMessage.Decoded
    do { again = try PubSubMessage.decode(written) } catch {
        Fuzz.check(false, "encoded message does not decode: \(error) in \(String(decoding: written, as: UTF8.self))")
        return 0
    }
    Fuzz.check(again.hostID == host, "host_id \(host) came back as \(String(describing: again.hostID))")
    if hasLoneNonFiniteArgument(decoded.operation) {
        // python-socketio's format cannot tell one null argument from none (it publishes an emit without
        // data as `[null]`), and the writer turns infinity into null: such an emit comes back once with no
        // argument, which then encodes and decodes stably.
        let settled = PubSubMessage.encode(again.operation, hostID: host)
        let third = try? PubSubMessage.decode(settled)
        Fuzz.check(third?.operation == again.operation, "no-argument emit is not stable: \(again.operation)")
        Fuzz.check(third.map { PubSubMessage.encode($0.operation, hostID: host) } == settled, "encoding is not stable for \(again.operation)")
        return 0
    }
    Fuzz.check(PubSubMessage.encode(again.operation, hostID: host) == written, "encoding is not stable for \(again.operation)")
    if !hasNonFinite(decoded.operation) {
        Fuzz.check(again.operation == decoded.operation, "round trip changed \(decoded.operation) into \(again.operation)")
    }
    return 0
}

/// An emit or callback whose only argument is infinity or NaN (written as null, read back as no argument).
private func hasLoneNonFiniteArgument(_ operation: ClusterOperation) -> Bool {
    switch operation {
    case .emit(let emit): emit.arguments.count == 1 && Fuzz.normalised(emit.arguments[0]) == .null && emit.arguments[0] != .null
    case .callback(_, _, _, _, let arguments): arguments.count == 1 && Fuzz.normalised(arguments[0]) == .null && arguments[0] != .null
    case .disconnect, .enterRoom, .leaveRoom, .closeRoom, .recovered, .handover, .taking, .flushed, .application: false
    }
}

private func hasNonFinite(_ operation: ClusterOperation) -> Bool {
    switch operation {
    case .emit(let emit): emit.arguments.contains { Fuzz.normalised($0) != $0 }
    case .callback(_, _, _, _, let arguments): arguments.contains { Fuzz.normalised($0) != $0 }
    case .application(_, _, let arguments): arguments.contains { Fuzz.normalised($0) != $0 }
    case .disconnect, .enterRoom, .leaveRoom, .closeRoom, .recovered, .handover, .taking, .flushed: false
    }
}
