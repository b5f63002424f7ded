extension EngineServer {
    /// All clients' queues would pass `--max-buffered-total`: the sessions holding the most unread bytes are
    /// closed, biggest first, until `needed` more bytes fit under the low-water mark or none holds any.
    ///
    /// The biggest, not the one writing: a client that reads keeps a short queue whatever it is sent, so
    /// the longest queues are those of clients that stopped reading. Only sessions holding bytes are sorted;
    /// the scan runs only at the budget, and closing down to seven eighths of it leaves room for many packets
    /// before the next.
    func reclaimOutboundMemory(needing needed: Int) {
        let memory = outboundMemory
        var holders: [(queued: Int, session: EngineSession)] = []
        for session in sessions.values {
            let queued = session.queuedBytes
            if queued > 0 { holders.append((queued, session)) }
        }
        holders.sort { $0.queued > $1.queued }
        for holder in holders {
            guard memory.queued &+ needed > memory.lowWater else { break }
            memory.closes &+= 1
            holder.session.outboundMemoryReached(queued: holder.queued, total: memory.queued &+ needed)
        }
    }
}
