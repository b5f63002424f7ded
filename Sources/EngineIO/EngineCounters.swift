/// What an engine has done since it started, for `/metrics`: plain integers, bumped where each event
/// happens (session open and close, upgrade, message in and out). The engine lives on the service
/// thread and so does the scrape that reads them, so they need no atomics, and a reply costs two
/// additions on fields already in cache.
///
/// Bounded: one entry per ``DisconnectReason`` and per registered transport, both fixed sets.
public struct EngineCounters {
    /// Sessions opened (successful handshakes).
    public internal(set) var sessionsOpened = 0
    /// Sessions closed, by reason.
    public internal(set) var closes: [DisconnectReason: Int] = [:]
    /// Sessions open now, by the transport that carries them.
    public internal(set) var openByTransport: [TransportName: Int] = [:]
    /// Polling sessions moved to WebSocket.
    public internal(set) var upgrades = 0
    /// Engine.IO 3 sessions open now (`allowEIO3`): how many old clients are still around, so an operator
    /// knows when the flag can go.
    public internal(set) var openV3 = 0
    /// The per-message counters, which every session bumps through its own strong reference.
    let traffic = TrafficCounters()
    /// Engine.IO message packets from clients, and their payload bytes.
    public var messagesReceived: Int { traffic.messagesReceived }
    public var bytesReceived: Int { traffic.bytesReceived }
    /// Engine.IO message packets handed to clients' transports (text and binary), and their payload bytes.
    public var messagesSent: Int { traffic.messagesSent }
    public var bytesSent: Int { traffic.bytesSent }

    mutating func opened(on transport: TransportName) {
        sessionsOpened &+= 1
        openByTransport[transport, default: 0] &+= 1
    }

    mutating func closed(on transport: TransportName, reason: DisconnectReason) {
        closes[reason, default: 0] &+= 1
        openByTransport[transport, default: 0] &-= 1
    }

    /// A session left for another node of the cluster: open here no longer, and not closed either.
    mutating func movedOut(on transport: TransportName) {
        openByTransport[transport, default: 0] &-= 1
    }

    /// A session arrived from another node: open here now, though no handshake opened it here.
    mutating func movedIn(on transport: TransportName) {
        openByTransport[transport, default: 0] &+= 1
    }

    mutating func upgraded(from old: TransportName, to new: TransportName) {
        upgrades &+= 1
        openByTransport[old, default: 0] &-= 1
        openByTransport[new, default: 0] &+= 1
    }
}

/// The counters a reply moves, in a class of their own that each session holds with a strong `let`.
///
/// Why not through the server: a session reaches its server through an `unowned` reference, and each
/// load of one costs a strong retain and release (`swift_unownedRetainStrong`); two per reply were 3.6% of
/// a reply's instructions (callgrind). A strong `let` on the session costs nothing to load.
/// Service thread only, like the engine.
final class TrafficCounters {
    var messagesReceived = 0
    var bytesReceived = 0
    var messagesSent = 0
    var bytesSent = 0

    @inline(__always) func received(bytes: Int) {
        messagesReceived &+= 1
        bytesReceived &+= bytes
    }

    @inline(__always) func sent(_ packet: EnginePacket) {
        guard packet.type == .message else { return }
        messagesSent &+= 1
        bytesSent &+= packet.payload.count
    }

    /// A broadcast's message (its payload length given, so the shared packet is not copied to count it).
    @inline(__always) func sentMessage(payloadBytes: Int) {
        messagesSent &+= 1
        bytesSent &+= payloadBytes
    }
}
