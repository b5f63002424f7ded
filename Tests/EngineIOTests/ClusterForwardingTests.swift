import EngineIOTesting
import Testing

@testable import EngineIO

/// Two engines linked in memory: a request for a session of one arrives at the other.
final class TwoNodes {
    let cluster = InMemoryCluster()
    let a = Harness()
    let b = Harness()
    static let tagA = "aaaaaaaaaaaa"
    static let tagB = "bbbbbbbbbbbb"
    let linkA: InMemoryCluster.Link
    let linkB: InMemoryCluster.Link

    init() {
        linkA = cluster.join(a.engine, tag: Self.tagA)
        linkB = cluster.join(b.engine, tag: Self.tagB)
    }

    /// A polling session opened on node A; its sid.
    func openOnA() -> String {
        let body = a.engine.requestInMemory(.get, query: "EIO=4&transport=polling").body ?? ""
        return String(body.dropFirst(9).prefix(32))
    }
}

@Suite struct ClusterForwardingTests {
    @Test func sidsNameTheirNode() {
        let nodes = TwoNodes()
        let sid = nodes.openOnA()
        #expect(sid.hasPrefix(TwoNodes.tagA))
        #expect(SessionID.nodeTag(of: sid) == Substring(TwoNodes.tagA))
        #expect(SessionID.nodeTag(of: SessionID.make()) == nil)
        #expect(SessionID.nodeTag(of: TwoNodes.tagA + "AAAAAAAAAA\"\nAAAAAAAAA") == nil)  // not a sid this server makes
    }

    @Test func aGetOnTheOtherNodeIsHeldByTheOwnerAndGetsItsPackets() throws {
        let nodes = TwoNodes()
        let sid = nodes.openOnA()
        let get = nodes.b.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        nodes.cluster.deliverAll()
        #expect(get.response == nil)
        #expect(!nodes.cluster.sent.contains(.held(id: 1)))  // not at once: most GETs are answered sooner
        nodes.a.clock.advance(by: nodes.a.engine.heldNoticeDelay)
        nodes.cluster.deliverAll()
        #expect(nodes.cluster.sent.contains(.held(id: 1)))
        try #require(nodes.a.engine.session(id: sid)).send(.message(Array("hi".utf8)))
        nodes.cluster.deliverAll()
        #expect(get.body == "4hi")
        #expect(nodes.b.engine.clusterCounters.forwarded[.answered] == 1)
        #expect(nodes.a.engine.clusterCounters.served == 1)
    }

    @Test func postsOnEitherNodeReachTheOwnerInOrder() {
        let nodes = TwoNodes()
        let sid = nodes.openOnA()
        let first = nodes.b.engine.requestInMemory(.post, query: "EIO=4&transport=polling&sid=\(sid)", body: "4one\u{1E}4two")
        nodes.cluster.deliverAll()
        let second = nodes.a.engine.requestInMemory(.post, query: "EIO=4&transport=polling&sid=\(sid)", body: "4three")
        #expect(first.body == "ok")
        #expect(second.body == "ok")
        #expect(nodes.a.delegate.messages == ["one", "two", "three"])
        #expect(nodes.b.delegate.messages.isEmpty)
    }

    @Test func anOwnerThatNeverAnswersGivesSessionIDUnknownAfterTheDeadline() {
        let nodes = TwoNodes()
        let sid = nodes.openOnA()
        nodes.cluster.offline(TwoNodes.tagA)
        let post = nodes.b.engine.requestInMemory(.post, query: "EIO=4&transport=polling&sid=\(sid)", body: "4x")
        nodes.cluster.deliverAll()
        nodes.b.clock.advance(by: EngineServer.nodeAnswerTimeout - 1)
        #expect(post.response == nil)
        nodes.b.clock.advance(by: 1)
        #expect(post.status == 400)
        #expect(post.body == "{\"code\":1,\"message\":\"Session ID unknown\"}")
        #expect(nodes.b.engine.clusterCounters.forwarded[.ownerGone] == 1)
    }

    @Test func aHeldGetWaitsAPingIntervalMoreThenIsAnsweredByThePing() {
        let nodes = TwoNodes()
        let sid = nodes.openOnA()
        let get = nodes.b.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        nodes.cluster.deliverAll()
        nodes.a.clock.advance(by: nodes.a.engine.heldNoticeDelay)  // the owner says it holds it
        nodes.cluster.deliverAll()
        nodes.b.clock.advance(by: EngineServer.nodeAnswerTimeout + 100)
        #expect(get.response == nil)
        nodes.a.clock.advance(by: 300)  // the owner's ping interval
        nodes.cluster.deliverAll()
        #expect(get.body == "2")
    }

    @Test func aClientThatDropsItsHeldGetReleasesItOnTheOwner() {
        let nodes = TwoNodes()
        let sid = nodes.openOnA()
        let get = nodes.b.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        nodes.cluster.deliverAll()
        get.clientAbandons()
        nodes.cluster.deliverAll()
        #expect(nodes.a.engine.sessionCount == 0)
        #expect(nodes.a.delegate.closed.map(\.1) == [.transportError])
        #expect(nodes.b.engine.clusterCounters.forwarded[.abandoned] == 1)
    }

    @Test func aFullLinkIsAnsweredAt503AtOnce() {
        let nodes = TwoNodes()
        let sid = nodes.openOnA()
        nodes.linkB.accepts = false
        let get = nodes.b.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        #expect(get.status == 503)
        #expect(nodes.b.engine.clusterCounters.forwarded[.atBound] == 1)
    }

    @Test func aRequestIsNotPassedOnTwice() {
        let nodes = TwoNodes()
        // A sid naming node B, which does not hold it, asked for on A as if passed on from a third node.
        var request = HTTPRequest(method: .get, path: "/socket.io/", query: QueryParameters("EIO=4&transport=polling&sid=\(TwoNodes.tagB)AAAAAAAAAAAAAAAAAAAA"))
        request.hops = 2
        let responder = RecordingResponder()
        nodes.a.engine.handle(request, responder: responder, onAbandon: { _ in })
        #expect(responder.status == 400)
        #expect(nodes.cluster.sent.isEmpty)
    }

    @Test func aWebSocketOnTheOtherNodeMovesTheSessionThere() throws {
        let nodes = TwoNodes()
        let sid = nodes.openOnA()
        try #require(nodes.a.engine.session(id: sid)).send(.message(Array("queued".utf8)))
        let get = nodes.a.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        #expect(get.body == "4queued")
        try #require(nodes.a.engine.session(id: sid)).send(.message(Array("later".utf8)))
        let held = nodes.b.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")  // held on A

        let socket = nodes.b.engine.connectInMemory(query: "EIO=4&transport=websocket&sid=\(sid)")
        socket.clientSends("2probe")  // arrives before the session: kept
        nodes.cluster.deliverAll()
        #expect(held.body == "4later")
        #expect(nodes.a.engine.sessionCount == 0)
        #expect(nodes.b.engine.sessionCount == 1)
        #expect(nodes.a.delegate.closed.isEmpty)
        #expect(socket.takeFrames() == ["3probe"])
        socket.clientSends("5")
        socket.clientSends("4after")
        #expect(nodes.b.delegate.messages == ["after"])
        #expect(nodes.a.engine.clusterCounters.moves[.movedOut] == 1)
        #expect(nodes.b.engine.clusterCounters.moves[.movedIn] == 1)
        // A request still arriving at A is passed on to B, where the session now lives.
        let late = nodes.a.engine.requestInMemory(.post, query: "EIO=4&transport=polling&sid=\(sid)", body: "4x")
        nodes.cluster.deliverAll()
        #expect(late.status == 400)  // the session is on WebSocket now: B's answer
        #expect(nodes.b.engine.clusterCounters.served == 1)
    }

    @Test func packetsQueuedOnTheOldNodeTravelWithTheSession() throws {
        let nodes = TwoNodes()
        let sid = nodes.openOnA()
        let session = try #require(nodes.a.engine.session(id: sid))
        session.send(.message(Array("one".utf8)))
        session.send(.binary([1, 2]))
        let socket = nodes.b.engine.connectInMemory(query: "EIO=4&transport=websocket&sid=\(sid)")
        nodes.cluster.deliverAll()
        let get = nodes.b.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        #expect(get.body == "4one\u{1E}bAQI=")
        _ = socket
    }

    @Test func aMoveForAnUnknownSessionClosesTheNewConnection() {
        let nodes = TwoNodes()
        let socket = nodes.b.engine.connectInMemory(query: "EIO=4&transport=websocket&sid=\(TwoNodes.tagA)AAAAAAAAAAAAAAAAAAAA")
        #expect(socket.closeCode == nil)
        nodes.cluster.deliverAll()
        #expect(socket.closeCode == 1000)
        #expect(nodes.b.engine.clusterCounters.moves[.refused] == 1)
    }

    @Test func aMoveWithNoAnswerClosesTheNewConnectionAfterTheDeadline() {
        let nodes = TwoNodes()
        let sid = nodes.openOnA()
        nodes.cluster.offline(TwoNodes.tagA)
        let socket = nodes.b.engine.connectInMemory(query: "EIO=4&transport=websocket&sid=\(sid)")
        nodes.cluster.deliverAll()
        nodes.b.clock.advance(by: EngineServer.nodeAnswerTimeout)
        #expect(socket.closeCode == 1000)
        #expect(nodes.b.engine.clusterCounters.moves[.ownerGone] == 1)
    }

    @Test func aSessionMidUpgradeDoesNotMove() throws {
        let nodes = TwoNodes()
        let sid = nodes.openOnA()
        let local = nodes.a.engine.connectInMemory(query: "EIO=4&transport=websocket&sid=\(sid)")
        let remote = nodes.b.engine.connectInMemory(query: "EIO=4&transport=websocket&sid=\(sid)")
        nodes.cluster.deliverAll()
        #expect(remote.closeCode == 1000)
        #expect(nodes.a.engine.sessionCount == 1)
        _ = local
    }
}

@Suite struct ClusterRetryTests {
    @Test func aGetRetriedThroughAnotherNodeTakesOverTheOneHeldForADeadNode() {
        let nodes = TwoNodes()
        let sid = nodes.openOnA()
        let first = nodes.b.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        nodes.cluster.deliverAll()
        nodes.cluster.offline(TwoNodes.tagB)  // B dies holding the client's GET; the balancer retries it on A
        let retried = nodes.a.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        #expect(retried.response == nil)  // held: the session lives on
        #expect(nodes.a.engine.sessionCount == 1)
        #expect(first.response == nil)  // its noop went to the dead node
    }

    @Test func twoGetsOnTheOwnerItselfStillEndTheSession() {
        let harness = Harness()
        let sid = harness.openPolling()
        _ = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        let second = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)")
        #expect(second.status == 400)
        #expect(harness.engine.sessionCount == 0)
    }
}

@Suite struct BalancerRetryTests {
    @Test func theSameGetAgainGetsTheSameAnswerAgain() throws {
        let harness = Harness()
        let sid = harness.openPolling()
        let first = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)&t=abc")
        try #require(harness.engine.session(id: sid)).send(.message(Array("lost on the way".utf8)))
        #expect(first.body == "4lost on the way")
        let retried = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)&t=abc")
        #expect(retried.body == "4lost on the way")
        let next = harness.engine.requestInMemory(.get, query: "EIO=4&transport=polling&sid=\(sid)&t=abd")
        #expect(next.response == nil)  // a new GET: held
        #expect(harness.engine.sessionCount == 1)
    }

    @Test func theSamePostAgainIsNotDeliveredTwice() {
        let harness = Harness()
        let sid = harness.openPolling()
        for _ in 0..<2 {
            let post = harness.engine.requestInMemory(.post, query: "EIO=4&transport=polling&sid=\(sid)&t=p1", body: "4once")
            #expect(post.body == "ok")
        }
        _ = harness.engine.requestInMemory(.post, query: "EIO=4&transport=polling&sid=\(sid)&t=p2", body: "4twice")
        #expect(harness.delegate.messages == ["once", "twice"])
    }
}
