import EngineIO
import EngineIOTesting
import Testing

@testable import SocketIO

/// Records what a namespace hands to the message queue.
private final class RecordingAdapter: ClusterAdapter {
    var published: [ClusterOperation] = []
    func publish(_ operation: ClusterOperation) { published.append(operation) }
}

/// A connected `/` client and its sid.
private func connect(_ harness: ServerHarness) -> (InMemoryWebSocket, String) {
    let client = harness.client()
    client.clientSends("40")
    let reply = client.takeFrames().first ?? ""
    let sid = String(reply.dropFirst("40{\"sid\":\"".count).dropLast(2))
    return (client, sid)
}

@Suite struct RoomsTests {
    @Test func roomTableKeepsBothDirectionsAndForgetsEmptyRooms() {
        var table = RoomTable()
        let first = table.add("a", to: "r")
        let again = table.add("a", to: "r")
        #expect(first && !again)
        table.add("b", to: "r")
        table.add("a", to: "s")
        #expect(table.rooms(of: "a") == ["r", "s"])
        table.removeAll(of: "a")
        #expect(table.members == ["r": ["b"]])
        table.close("r")
        #expect(table.members.isEmpty && table.rooms(of: "b").isEmpty)
        let removed = table.remove("b", from: "r")
        #expect(!removed)
    }

    @Test func emitToRoomSidAndEveryoneWithSkips() {
        let harness = ServerHarness()
        let namespace = harness.server.namespace("/")
        let (a, aSid) = connect(harness)
        let (b, bSid) = connect(harness)
        let (c, cSid) = connect(harness)
        namespace.sockets[aSid]?.join("blue")
        namespace.sockets[bSid]?.join("blue")
        namespace.emit("e", [1], to: "blue")
        namespace.emit("e", [2], to: cSid)
        namespace.emit("e", [3], to: nil, skip: [aSid, cSid])
        namespace.emit("e", [4], to: "blue", skip: [bSid])
        namespace.emit("e", [5], to: "nobody")
        #expect(a.takeFrames() == ["42[\"e\",1]", "42[\"e\",4]"])
        #expect(b.takeFrames() == ["42[\"e\",1]", "42[\"e\",3]"])
        #expect(c.takeFrames() == ["42[\"e\",2]"])
        #expect(namespace.sockets[aSid]?.rooms == [aSid, "blue"])
    }

    @Test func joiningAnotherSocketsSidRoomIsRefused() {
        let harness = ServerHarness()
        let namespace = harness.server.namespace("/")
        let (_, aSid) = connect(harness)
        let (b, bSid) = connect(harness)
        namespace.sockets[aSid]?.join(bSid)
        namespace.emit("e", [], to: bSid)
        #expect(b.takeFrames() == ["42[\"e\"]"])
        #expect(namespace.members(of: bSid).isEmpty)
    }

    @Test func leaveCloseRoomAndDisconnectEmptyRooms() {
        let harness = ServerHarness()
        let namespace = harness.server.namespace("/")
        let (a, aSid) = connect(harness)
        let (_, bSid) = connect(harness)
        namespace.sockets[aSid]?.join("r")
        namespace.sockets[bSid]?.join("r")
        namespace.sockets[aSid]?.leave("r")
        #expect(namespace.members(of: "r") == [bSid])
        namespace.closeRoom("r")
        #expect(namespace.members(of: "r").isEmpty)
        namespace.sockets[aSid]?.join("q")
        namespace.disconnect(aSid)
        #expect(a.takeFrames() == ["41"])
        #expect(namespace.members(of: "q").isEmpty)
        #expect(namespace.sockets[aSid] == nil)
    }

    @Test func clusterEmitsArePublishedAndLocalOnesAreNot() {
        let harness = ServerHarness()
        let adapter = RecordingAdapter()
        harness.server.adapter = adapter
        let namespace = harness.server.namespace("/")
        let (a, aSid) = connect(harness)
        namespace.emit("all", ["x"])
        namespace.emit("room", [], to: "r", skip: [aSid])
        namespace.emitLocally("mine", [])
        namespace.closeRoom("r")
        namespace.disconnect("elsewhere")
        namespace.join(sid: "elsewhere", room: "r")
        namespace.leave(sid: "elsewhere", room: "r")
        #expect(a.takeFrames() == ["42[\"all\",\"x\"]", "42[\"mine\"]"])
        #expect(
            adapter.published == [
                .emit(ClusterEmit(event: "all", arguments: ["x"])),
                .emit(ClusterEmit(event: "room", rooms: ["r"], skip: [aSid])),
                .closeRoom(room: "r", namespace: "/"),
                .disconnect(sid: "elsewhere", namespace: "/"),
                .enterRoom(sid: "elsewhere", namespace: "/", room: "r"),
                .leaveRoom(sid: "elsewhere", namespace: "/", room: "r"),
            ])
    }

    @Test func appliedOperationsStayLocalAndRemoteAcksArePublished() {
        let harness = ServerHarness()
        let adapter = RecordingAdapter()
        harness.server.adapter = adapter
        let namespace = harness.server.namespace("/")
        let (a, aSid) = connect(harness)
        let (b, bSid) = connect(harness)
        harness.server.apply(.enterRoom(sid: aSid, namespace: "/", room: "r"))
        harness.server.apply(.emit(ClusterEmit(event: "e", arguments: [1, 2], rooms: ["r", bSid])))
        harness.server.apply(.emit(ClusterEmit(event: "e", rooms: nil, skip: [aSid, bSid])))
        harness.server.apply(.emit(ClusterEmit(event: "e", namespace: "/unknown")))
        #expect(a.takeFrames() == ["42[\"e\",1,2]"])
        #expect(b.takeFrames() == ["42[\"e\",1,2]"])
        let callback = RemoteCallback(host: "h", room: bSid, namespace: "/", id: 9)
        harness.server.apply(.emit(ClusterEmit(event: "q", rooms: [bSid], callback: callback)))
        #expect(b.takeFrames() == ["420[\"q\"]"])
        b.clientSends("430[\"ok\"]")
        harness.server.apply(.disconnect(sid: aSid, namespace: "/"))
        #expect(a.takeFrames() == ["41"])
        #expect(namespace.sockets[aSid] == nil)
        #expect(adapter.published == [.callback(host: "h", sid: bSid, namespace: "/", id: 9, arguments: ["ok"])])
    }
}
