import EngineIO
import EngineIOTesting
import Testing

@testable import SocketIO

/// A client's Socket.IO state moving with its Engine.IO session from one node to another.
@Suite struct SessionMoveTests {
    /// Two servers linked in memory; a polling client on `a` with sockets in `/` and `/custom`.
    final class Pair {
        let a = ServerHarness()
        let b = ServerHarness()
        let cluster = InMemoryCluster()
        var sid = ""

        init() {
            cluster.join(a.engine, tag: "aaaaaaaaaaaa")
            cluster.join(b.engine, tag: "bbbbbbbbbbbb")
            for harness in [a, b] {
                harness.server.namespace("/").encodeData = { data in (data as? Box).map { .string($0.text) } }
                harness.server.namespace("/").decodeData = { value in value.stringValue.map(Box.init) }
            }
            let open = a.engine.requestInMemory(.get, query: "EIO=4&transport=polling").body ?? ""
            sid = String(open.dropFirst(9).prefix(32))
            _ = a.engine.requestInMemory(.post, query: poll, body: "40\u{1E}40/custom,{\"token\":\"t\"}")
            _ = a.engine.requestInMemory(.get, query: poll)  // the two CONNECT replies
        }

        var poll: String { "EIO=4&transport=polling&sid=\(sid)" }
    }

    final class Box {
        let text: String
        init(_ text: String) { self.text = text }
    }

    @Test func socketsRoomsAndDataMoveAndNobodyHearsADisconnect() throws {
        let pair = Pair()
        let rootA = try #require(pair.a.server.namespace("/").sockets.values.first)
        rootA.data = Box("row")
        rootA.join("lobby")
        let socketID = rootA.id
        let customID = try #require(pair.a.server.namespace("/custom").sockets.values.first).id

        let socket = pair.b.engine.connectInMemory(query: "EIO=4&transport=websocket&sid=\(pair.sid)")
        socket.clientSends("2probe")
        pair.cluster.deliverAll()
        #expect(socket.takeFrames() == ["3probe"])
        socket.clientSends("5")

        #expect(pair.a.server.namespace("/").sockets.isEmpty)
        #expect(pair.a.server.namespace("/").members(of: "lobby").isEmpty)
        #expect(pair.a.record.disconnects.isEmpty)
        let rootB = try #require(pair.b.server.namespace("/").sockets[socketID])
        #expect(rootB.movedIn)
        #expect((rootB.data as? Box)?.text == "row")
        #expect(pair.b.server.namespace("/").members(of: "lobby") == [socketID])
        let customB = try #require(pair.b.server.namespace("/custom").sockets[customID])
        #expect(customB.auth == ["token": "t"])
        #expect(pair.b.record.connects.isEmpty)  // no second CONNECT handler run

        pair.b.server.namespace("/").emitLocally("news", ["x"], to: "lobby")
        #expect(socket.takeFrames() == ["42[\"news\",\"x\"]"])
        socket.clientSends("42/custom,[\"hi\"]")
        #expect(pair.b.record.events.map(\.name) == ["hi"])
    }

    @Test func anAcknowledgementOwedOnTheOldNodeIsAnsweredFromTheNewOne() throws {
        let pair = Pair()
        let rootA = try #require(pair.a.server.namespace("/").sockets.values.first)
        var answers: [Result<[JSONValue], AckFailure>] = []
        rootA.emit("question", ["?"], timeout: 60_000) { answers.append($0) }
        rootA.emit("second", [], timeout: 60_000) { answers.append($0) }
        let asked = pair.a.engine.requestInMemory(.get, query: pair.poll).body ?? ""
        #expect(asked.contains("420[\"question\",\"?\"]"))

        let socket = pair.b.engine.connectInMemory(query: "EIO=4&transport=websocket&sid=\(pair.sid)")
        socket.clientSends("2probe")
        pair.cluster.deliverAll()
        socket.clientSends("5")
        #expect(pair.a.server.movedAckSockets.count == 1)

        socket.clientSends("430[\"yes\"]")
        pair.cluster.deliverAll()
        #expect(answers.count == 1)
        #expect(try answers.first?.get() == ["yes"])
        // A new emit with an ack on the new node gets an id of its own, after the ones it took over.
        let rootB = try #require(pair.b.server.namespace("/").sockets[rootA.id])
        rootB.emit("third", []) { _ in }
        #expect(socket.takeFrames().last == "422[\"third\"]")
        // The client leaves owing the second: the old node's callback hears it, and lets go of the socket.
        socket.clientDisconnects()
        pair.cluster.deliverAll()
        #expect(answers.count == 2)
        if case .failure(let failure)? = answers.last { #expect(failure.reason == .disconnected) } else { Issue.record("not a failure") }
        #expect(pair.a.server.movedAckSockets.isEmpty)
    }

    @Test func aStateThatNamesANamespaceNotServedClosesTheSession() throws {
        let harness = ServerHarness()
        let cluster = InMemoryCluster()
        cluster.join(harness.engine, tag: "bbbbbbbbbbbb")
        let sid = "aaaaaaaaaaaa" + String(repeating: "A", count: 20)
        let state = Array(#"{"v":1,"sockets":[{"ns":"/elsewhere","id":"abc","pid":null,"auth":null,"rooms":[],"data":null}]}"#.utf8)
        harness.engine.receive(.moveAnswer(id: 99, MovedSession(sid: sid, peer: "127.0.0.1", transport: .polling, queued: [], state: state), reason: ""))
        #expect(harness.engine.session(id: sid) == nil)
        #expect(!harness.warnings(containing: "unusable").isEmpty)
    }
}
