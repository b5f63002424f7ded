import Synchronization

/// What `--node-link` has done, for `/metrics`. Written on the service thread, read by the scrape; atomics
/// (relaxed) as for ``MessageQueueCounters``.
public final class NodeLinkCounters: Sendable {
    /// Node messages written whole to a direct link.
    package let framesSent = Atomic<Int>(0)
    /// Node messages read from a direct link and handed to the engine.
    package let framesReceived = Atomic<Int>(0)
    /// Authenticated link connections up now, both ways.
    package let connections = Atomic<Int>(0)
    /// Inbound connections closed for a wrong or missing hello (or past the connection bound).
    package let authRefused = Atomic<Int>(0)
    /// Node messages sent through the message queue because no link to their node was up (or handed
    /// back to it when a link died with them unwritten).
    package let fallback = Atomic<Int>(0)
    /// Frames from an authenticated node that were not a node message (skipped).
    package let badFrames = Atomic<Int>(0)
    /// Announced nodes ignored because ``DirectNodeLink/maxPeers`` were known already.
    package let peersIgnored = Atomic<Int>(0)

    package init() {}

    public struct Snapshot: Sendable, Equatable {
        public var framesSent, framesReceived, connections, authRefused, fallback, badFrames, peersIgnored: Int
    }

    public func snapshot() -> Snapshot {
        Snapshot(
            framesSent: framesSent.load(ordering: .relaxed), framesReceived: framesReceived.load(ordering: .relaxed),
            connections: connections.load(ordering: .relaxed), authRefused: authRefused.load(ordering: .relaxed),
            fallback: fallback.load(ordering: .relaxed), badFrames: badFrames.load(ordering: .relaxed),
            peersIgnored: peersIgnored.load(ordering: .relaxed))
    }

    package func add(_ counter: borrowing Atomic<Int>, _ amount: Int) {
        if amount != 0 { counter.add(amount, ordering: .relaxed) }
    }
}
