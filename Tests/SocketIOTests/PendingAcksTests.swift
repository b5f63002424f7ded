import EngineIO
import EngineIOTesting
import Testing

@testable import SocketIO

@Suite struct PendingAcksTests {
    @Test func idsIncreaseAndAnAnswerTakesItsEntry() {
        var acks = PendingAcks<String>(limit: 10)
        #expect(acks.add("a").id == 0)
        #expect(acks.add("b").id == 1)
        #expect(acks.answer(0) == "a")
        #expect(acks.answer(0) == nil)  // answered once only
        #expect(acks.count == 1)
    }

    @Test func atTheLimitTheOldestIsEvictedAndCounted() {
        var acks = PendingAcks<Int>(limit: 3)
        for value in 0..<3 { #expect(acks.add(value).evicted == nil) }
        #expect(acks.add(3).evicted == 0)
        #expect(acks.add(4).evicted == 1)
        #expect(acks.count == 3)
        #expect(acks.droppedTotal == 2)
        #expect(acks.droppedInEpisode == 2)
        #expect(acks.answer(0) == nil)  // dropped: a late answer finds nothing
        #expect(acks.answer(3) == 3)
        #expect(acks.droppedInEpisode == 0)  // the client answered: the episode is over
        #expect(acks.add(5).evicted == nil)  // room again after the answer
        #expect(acks.add(6).evicted == 2)  // the oldest still waiting, past the answered gap
        #expect(acks.droppedTotal == 3)
        #expect(acks.removeAll() == [4, 5, 6])
    }

    @Test func anExpiredEntryLeavesTheEpisodeOpen() {
        var acks = PendingAcks<Int>(limit: 1)
        _ = acks.add(0)
        _ = acks.add(1)
        #expect(acks.expire(1) == 1)
        #expect(acks.droppedInEpisode == 1)
    }
}

@Suite struct SocketAckBoundTests {
    private func connectedClient(_ harness: ServerHarness) -> InMemoryWebSocket {
        let client = harness.client()
        client.clientSends("40")
        _ = client.takeFrames()
        return client
    }

    @Test func aClientThatNeverAnswersHoldsAtMostTheLimitWithOneWarningPerEpisode() throws {
        let harness = ServerHarness(maxPendingAcks: 3)
        var socket: Socket?
        harness.server.namespace("/").onConnect = { socket = $0 }
        let client = connectedClient(harness)
        let connected = try #require(socket)
        var answered: [Int] = []
        for index in 0..<5 { connected.emit("q", [.string("\(index)")]) { _ in answered.append(index) } }
        #expect(client.takeFrames().count == 5)  // every emit is sent; only the wait for its answer is bounded
        #expect(harness.warnings(containing: "acknowledgements: 3 waiting").count == 1)
        client.clientSends("430[]")  // dropped: ignored
        client.clientSends("431[]")  // dropped: ignored
        client.clientSends("434[]")
        #expect(answered == [4])
        // The answer ended the episode: the next overflow warns again.
        connected.emit("q") { _ in }
        connected.emit("q") { _ in }
        #expect(harness.warnings(containing: "acknowledgements: 3 waiting").count == 2)
        #expect(client.closeCode == nil)
    }

    @Test func theDefaultIsAHundredPerSocket() {
        #expect(SocketIOConfiguration().maxPendingAcks == 100)
    }

    @Test func aTimedAckIsAnsweredOnceWithTheArgumentsOrTheTimeout() throws {
        let harness = ServerHarness()
        var socket: Socket?
        harness.server.namespace("/").onConnect = { socket = $0 }
        let client = connectedClient(harness)
        let connected = try #require(socket)
        var outcomes: [Result<[JSONValue], AckFailure>] = []
        connected.emit("fast", timeout: 100) { outcomes.append($0) }
        connected.emit("slow", timeout: 100) { outcomes.append($0) }
        #expect(client.takeFrames() == ["420[\"fast\"]", "421[\"slow\"]"])
        client.clientSends("430[\"ok\"]")
        harness.clock.advance(by: 99)
        #expect(outcomes == [.success(["ok"])])
        harness.clock.advance(by: 1)
        #expect(outcomes == [.success(["ok"]), .failure(AckFailure(.timedOut))])
        client.clientSends("431[\"late\"]")  // after its timeout: nobody is called again
        #expect(outcomes.count == 2)
        #expect(AckFailure(.timedOut).description == "operation has timed out")
    }

    @Test func droppedAndDisconnectedTimedAcksAreToldWhy() throws {
        let harness = ServerHarness(maxPendingAcks: 1)
        var socket: Socket?
        harness.server.namespace("/").onConnect = { socket = $0 }
        let client = connectedClient(harness)
        let connected = try #require(socket)
        var outcomes: [Result<[JSONValue], AckFailure>] = []
        connected.emit("a", timeout: 1000) { outcomes.append($0) }
        connected.emit("b", timeout: 1000) { outcomes.append($0) }
        #expect(outcomes == [.failure(AckFailure(.dropped))])
        client.clientSends("41")
        #expect(outcomes == [.failure(AckFailure(.dropped)), .failure(AckFailure(.disconnected))])
        harness.clock.advance(by: 2000)  // the timers were cancelled: nothing fires twice
        #expect(outcomes.count == 2)
    }
}
