import EngineIOTesting
import Testing

@testable import EngineIO

@Suite struct OutboundMemoryTests {
    private func message(_ size: Int) -> EnginePacket { .message(Array(repeating: UInt8(ascii: "x"), count: size)) }

    @Test func everyBudgetReportsToTheTotalAndDroppedBytesAreCounted() {
        let memory = OutboundMemory(limit: 1000)
        var first = OutboundBudget(limit: 500, memory: memory)
        var second = OutboundBudget(limit: 500, memory: memory)
        _ = first.add(300)
        _ = second.add(200)
        #expect(memory.queued == 500)
        let refused = first.add(300)  // past its own limit: not counted anywhere
        #expect(!refused)
        #expect(memory.queued == 500)
        first.drain(100)
        #expect(memory.queued == 400)
        second.dropAll()
        #expect(memory.queued == 200)
        #expect(memory.takeDropped() == 200)
        #expect(memory.takeDropped() == 0)
        #expect(first.passesTotal(adding: 801))
        #expect(!first.passesTotal(adding: 800))
    }

    /// The binding arms its look at freed memory on the first drop only (issue 26: no timer on an idle server).
    @Test func onlyTheFirstDropSinceTheLastLookIsAnnounced() {
        let memory = OutboundMemory(limit: 1000)
        var announced = 0
        memory.onFirstDrop = { announced += 1 }
        var first = OutboundBudget(limit: 500, memory: memory)
        var second = OutboundBudget(limit: 500, memory: memory)
        _ = first.add(300)
        _ = second.add(200)
        first.dropAll()
        second.dropAll()
        #expect(announced == 1)
        #expect(memory.takeDropped() == 500)
        _ = first.add(100)
        first.dropAll()
        #expect(announced == 2)
    }

    @Test func atTheTotalTheClientsHoldingTheMostAreClosedFirstNotTheWriter() throws {
        // 1000 bytes for everyone; three clients that read nothing hold 400, 300 and 200 (100-byte packets).
        let harness = Harness(maxBuffered: 1000, maxBufferedTotal: 1000)
        var idle: [(InMemoryWebSocket, EngineSession)] = []
        for (index, count) in [4, 3, 2].enumerated() {
            let socket = harness.engine.connectInMemory(peer: "idle\(index)")
            let session = try #require(socket.transport?.session)
            socket.isReading = false
            for _ in 0..<count { session.send(message(99)) }
            idle.append((socket, session))
        }
        #expect(harness.engine.outboundMemory.queued == 900)
        // A fourth client connects: its open packet (103 bytes) would take the total to 1003. The biggest
        // holder goes (400), which brings it under the low-water mark (875); the writer stays, and its
        // next 200 bytes fit.
        let writer = harness.engine.connectInMemory(peer: "writer")
        let writerSession = try #require(writer.transport?.session)
        writer.isReading = false
        writerSession.send(message(99))
        writerSession.send(message(99))
        #expect(harness.engine.outboundMemory.queued <= harness.engine.outboundMemory.lowWater)
        #expect(idle[0].0.closeCode != nil)
        #expect(idle[1].0.closeCode == nil && idle[2].0.closeCode == nil && writer.closeCode == nil)
        #expect(writer.outbound.queued == 200)
        #expect(harness.delegate.closed.map(\.1) == [.transportError])
        #expect(harness.engine.outboundMemory.closes == 1)
        let warnings = harness.logged.lines.filter { $0.hasPrefix("warn outbound memory") }
        #expect(warnings == [
            "warn outbound memory sid=\(idle[0].1.id) peer=idle0 queued=400 bytes, the most of any client, while all clients' queues would reach 1003 bytes > --max-buffered-total 1000: closing\n"
        ])
        // The writer fills up to the total (500 of its own); then the smallest client writes one packet: the
        // biggest holder is now the first writer, and it goes, not the one writing.
        for _ in 0..<3 { writerSession.send(message(99)) }
        #expect(writer.closeCode == nil)
        idle[2].1.send(message(99))
        #expect(writer.closeCode != nil)
        #expect(idle[1].0.closeCode == nil && idle[2].0.closeCode == nil)
        #expect(idle[2].0.outbound.queued == 300)
        #expect(harness.engine.outboundMemory.closes == 2)
    }

    @Test func aWriterHoldingTheMostIsClosedItselfAndItsPacketNotQueued() throws {
        let harness = Harness(maxBuffered: 1000, maxBufferedTotal: 500)
        let small = harness.engine.connectInMemory(peer: "small")
        let smallSession = try #require(small.transport?.session)
        small.isReading = false
        smallSession.send(message(99))
        let big = harness.engine.connectInMemory(peer: "big")
        let bigSession = try #require(big.transport?.session)
        big.isReading = false
        for _ in 0..<5 { bigSession.send(message(99)) }  // 100 + 500 passes 500 at the fifth
        #expect(big.closeCode != nil)
        #expect(small.closeCode == nil)
        #expect(harness.engine.outboundMemory.queued == 100)
        #expect(harness.engine.sessionCount == 1)
    }

    @Test func aReadingClientIsNeverClosedForOthersQueues() throws {
        let harness = Harness(maxBuffered: 1000, maxBufferedTotal: 1000)
        let reader = harness.engine.connectInMemory(peer: "reader")
        let readerSession = try #require(reader.transport?.session)
        let stuck = harness.engine.connectInMemory(peer: "stuck")
        let stuckSession = try #require(stuck.transport?.session)
        stuck.isReading = false
        for _ in 0..<9 { stuckSession.send(message(99)) }
        for _ in 0..<50 { readerSession.send(message(99)) }  // each read at once: it never holds any
        #expect(reader.closeCode == nil)
        #expect(stuck.closeCode == nil)  // 900 + 100 in flight is exactly the total, not past it
        stuckSession.send(message(99))  // 1000: its own limit and the total, not past either
        #expect(stuck.closeCode == nil)
        readerSession.send(message(99))  // 1100 for a moment: the one holding the most goes, the reader stays
        #expect(stuck.closeCode != nil)
        #expect(reader.closeCode == nil)
        #expect(reader.takeFrames().count == 52)
    }

    @Test func pollingQueuesCountInTheTotal() throws {
        let harness = Harness(maxBuffered: 1000, maxBufferedTotal: 800)
        let sid = harness.openPolling()
        let session = try #require(harness.engine.session(id: sid))
        for _ in 0..<5 { session.send(message(99)) }
        #expect(harness.engine.outboundMemory.queued == 500)
        let socket = harness.engine.connectInMemory(peer: "ws")
        let wsSession = try #require(socket.transport?.session)
        socket.isReading = false
        for _ in 0..<4 { wsSession.send(message(99)) }  // 500 + 400 passes 800: the polling client (500) goes
        #expect(harness.engine.session(id: sid) == nil)
        #expect(socket.closeCode == nil)
        #expect(harness.engine.outboundMemory.queued == 400)
    }

    @Test func theDefaultIsAQuarterOfMemoryBetweenItsFloorAndCap() {
        let mib = 1024 * 1024
        #expect(OutboundMemory.defaultLimit(physicalBytes: 512 * mib) == 256 * mib)
        #expect(OutboundMemory.defaultLimit(physicalBytes: 8192 * mib) == 2048 * mib)
        #expect(OutboundMemory.defaultLimit(physicalBytes: 1 << 40) == 16384 * mib)
    }
}
