import EngineIO
import EngineIOTesting
import Testing

@testable import SocketIO

/// Socket.IO 2 over Engine.IO 3 (`--allow-eio3`): what differs from v5 for the client.
@Suite struct SocketIOv2Tests {
    private func v2Client(_ harness: ServerHarness) -> InMemoryWebSocket {
        harness.engine.connectInMemory(query: "EIO=3&transport=websocket")
    }

    @Test func theServerJoinsTheClientToTheDefaultNamespaceWithoutData() {
        let harness = ServerHarness(allowEIO3: true)
        harness.server.namespace("/").onConnect = { socket in socket.emit("welcome", []) }
        let client = v2Client(harness)
        let frames = client.takeFrames()
        #expect(frames.count == 3)
        #expect(frames.first?.hasPrefix("0{\"sid\":") == true)
        #expect(Array(frames.dropFirst()) == ["40", "42[\"welcome\"]"])
        // A CONNECT to / the client sends anyway is a duplicate, ignored.
        client.clientSends("40")
        #expect(client.takeFrames().isEmpty)
    }

    @Test func otherNamespacesRefusalsAndQueries() {
        let harness = ServerHarness(allowEIO3: true)
        let client = v2Client(harness)
        _ = client.takeFrames()
        client.clientSends("40/custom?token=abc")
        #expect(client.takeFrames() == ["40/custom,"])
        #expect(harness.record.connects.last?.namespace == "/custom")
        client.clientSends("40/nowhere")
        #expect(client.takeFrames() == ["44/nowhere,\"Invalid namespace\""])
        client.clientSends("42/custom,1[\"echo\",\"x\"]")
        #expect(client.takeFrames() == ["43/custom,1[\"x\"]"])
    }

    @Test func aV4ClientBesideItIsUnchanged() {
        let harness = ServerHarness(allowEIO3: true)
        let client = harness.client()
        #expect(client.takeFrames().isEmpty)  // no implicit connect for v4
        client.clientSends("40")
        #expect(client.takeFrames().first?.hasPrefix("40{\"sid\":\"") == true)
    }
}
