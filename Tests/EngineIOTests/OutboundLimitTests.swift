import EngineIOTesting
import Testing

@testable import EngineIO

@Suite struct OutboundBudgetTests {
    @Test func addsUpToTheLimitAndRefusesPastIt() {
        var budget = OutboundBudget(limit: 100)
        let took60 = budget.add(60)
        #expect(took60)
        let took40 = budget.add(40)
        #expect(took40)
        let took1 = budget.add(1)
        #expect(!took1)
        #expect(budget.queued == 100)
        budget.drain(30)
        let took30 = budget.add(30)
        #expect(took30)
        #expect(budget.queued == 100)
        #expect(budget.sent == 30)
    }

    @Test func anEmptyQueueTakesOnePacketLargerThanTheLimit() {
        var budget = OutboundBudget(limit: 100)
        let took500 = budget.add(500)
        #expect(took500)
        let took1 = budget.add(1)
        #expect(!took1)
        budget.drain(500)
        let tookAfterDrain = budget.add(1)
        #expect(tookAfterDrain)
    }

    @Test func marksTellWhenAPacketHasLeft() {
        var budget = OutboundBudget(limit: 1000)
        _ = budget.add(10)
        _ = budget.add(1)  // the ping
        let mark = budget.end
        _ = budget.add(50)  // sent after the ping
        #expect(!budget.hasSent(through: mark))
        budget.drain(10)
        #expect(!budget.hasSent(through: mark))
        budget.drain(1)
        #expect(budget.hasSent(through: mark))
    }
}

@Suite struct OutboundLimitTests {
    private func message(_ size: Int) -> EnginePacket { .message(Array(repeating: UInt8(ascii: "x"), count: size)) }

    @Test func aWebSocketClientThatStopsReadingIsClosedAtTheLimitWithOneWarning() throws {
        let harness = Harness(maxBuffered: 1000)
        let socket = harness.engine.connectInMemory()
        let session = try #require(socket.transport?.session)
        socket.isReading = false
        for _ in 0..<9 { session.send(message(99)) }  // 900 bytes unread
        #expect(harness.engine.sessionCount == 1)
        session.send(message(99))  // 1000: at the limit, still allowed
        #expect(harness.engine.sessionCount == 1)
        session.send(message(99))  // 1100: past it
        #expect(harness.engine.sessionCount == 0)
        #expect(harness.delegate.closed.map(\.1) == [.transportError])
        #expect(socket.closeCode != nil)
        #expect(socket.outbound.queued == 0)  // the queue was dropped
        session.send(message(99))
        let warnings = harness.logged.lines.filter { $0.hasPrefix("warn outbound limit") }
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("sid=\(session.id) peer=test queued=1100 bytes") == true)
    }

    @Test func aReadingClientGetsFarMoreThanTheLimitInTotal() throws {
        let harness = Harness(maxBuffered: 1000)
        let socket = harness.engine.connectInMemory()
        let session = try #require(socket.transport?.session)
        for _ in 0..<100 { session.send(message(99)) }
        #expect(harness.engine.sessionCount == 1)
        #expect(socket.takeFrames().count == 101)  // the open packet and every message
    }

    @Test func aPollingClientThatStopsCollectingIsClosedAtTheLimit() throws {
        let harness = Harness(maxBuffered: 1000)
        let sid = harness.openPolling()
        let session = try #require(harness.engine.session(id: sid))
        for _ in 0..<10 { session.send(message(99)) }
        #expect(harness.engine.sessionCount == 1)
        session.send(message(99))
        #expect(harness.engine.sessionCount == 0)
        #expect(harness.delegate.closed.map(\.1) == [.transportError])
        #expect(harness.logged.lines.filter { $0.hasPrefix("warn outbound limit sid=\(sid) peer=test queued=1100 bytes") }.count == 1)
        #expect(harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)").status == 400)
    }

    @Test func collectedPacketsFreeTheBudget() throws {
        let harness = Harness(maxBuffered: 1000)
        let sid = harness.openPolling()
        let session = try #require(harness.engine.session(id: sid))
        for round in 0..<5 {
            for _ in 0..<10 { session.send(message(99)) }
            let get = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
            #expect(get.body?.split(separator: "\u{1E}").count == 10, "round \(round)")
        }
        #expect(harness.engine.sessionCount == 1)
    }

    @Test func aPollingResponseCarriesAtMostSixteenPackets() throws {
        let harness = Harness()
        let sid = harness.openPolling()
        let session = try #require(harness.engine.session(id: sid))
        for i in 0..<40 { session.send(.message(Array("m\(i)".utf8))) }
        var received: [String] = []
        var counts: [Int] = []
        while received.count < 40 {
            let get = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
            let packets = (get.body ?? "").split(separator: "\u{1E}").map(String.init)
            guard !packets.isEmpty else { break }
            counts.append(packets.count)
            received += packets
        }
        #expect(counts == [16, 16, 8])
        #expect(received == (0..<40).map { "4m\($0)" })
    }
}

@Suite struct PongAfterPingLeftTests {
    @Test func aBlindPongFromAClientThatDoesNotReadDoesNotKeepItsSession() {
        let harness = Harness()
        let socket = harness.engine.connectInMemory()
        socket.isReading = false
        harness.clock.advance(by: 300)  // the ping is queued, unread
        socket.clientSends("3")
        harness.clock.advance(by: 199)
        #expect(harness.engine.sessionCount == 1)
        harness.clock.advance(by: 1)
        #expect(harness.engine.sessionCount == 0)
        #expect(harness.delegate.closed.map(\.1) == [.pingTimeout])
    }

    @Test func aPongCountsOnceThePingHasBeenRead() {
        let harness = Harness()
        let socket = harness.engine.connectInMemory()
        socket.isReading = false
        harness.clock.advance(by: 300)
        socket.clientSends("3")  // too early: the ping is still queued
        harness.clock.advance(by: 100)
        socket.clientReads()
        #expect(socket.takeFrames().last == "2")
        socket.clientSends("3")
        harness.clock.advance(by: 150)  // past the first pong deadline (500)
        #expect(harness.engine.sessionCount == 1)
        #expect(harness.delegate.closed.isEmpty)
    }

    @Test func aPollingPongBeforeThePingWasCollectedDoesNotCount() {
        let harness = Harness()
        let sid = harness.openPolling()
        harness.clock.advance(by: 300)  // ping queued: no GET waiting
        harness.engine.requestInMemory(.post, query: "EIO=4&transport=polling&sid=\(sid)", body: "3")
        harness.clock.advance(by: 200)
        #expect(harness.engine.sessionCount == 0)
        #expect(harness.delegate.closed.map(\.1) == [.pingTimeout])
    }

    @Test func aPollingPongAfterTheGetCollectedThePingCounts() {
        let harness = Harness()
        let sid = harness.openPolling()
        harness.clock.advance(by: 300)
        #expect(harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)").body == "2")
        harness.engine.requestInMemory(.post, query: "EIO=4&transport=polling&sid=\(sid)", body: "3")
        harness.clock.advance(by: 200)
        #expect(harness.engine.sessionCount == 1)
    }
}

@Suite struct ServerStopTests {
    @Test func aStopClosesWebSocketsWithGoingAwayAndNoClosePacket() {
        let harness = Harness()
        let socket = harness.engine.connectInMemory()
        _ = socket.takeFrames()
        harness.engine.closeAll(reason: .serverShutdown)
        #expect(socket.closeCode == 1001)
        #expect(socket.takeFrames().isEmpty)
        #expect(harness.delegate.closed.map(\.1) == [.serverShutdown])
    }

    @Test func aStopAnswersAHeldPollWith503NotAClosePacket() {
        let harness = Harness()
        let sid = harness.openPolling()
        let get = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        #expect(get.response == nil)
        harness.engine.closeAll(reason: .serverShutdown)
        #expect(get.status == 503)
        #expect(get.body == "{\"code\":503,\"message\":\"Server shutting down\"}")
        #expect(harness.delegate.closed.map(\.1) == [.serverShutdown])
    }

    @Test func aSessionClosedForAnyOtherReasonUsesNormalClosure() {
        let harness = Harness()
        let socket = harness.engine.connectInMemory()
        harness.engine.closeAll(reason: .forcedClose)
        #expect(socket.closeCode == 1000)
    }
}
