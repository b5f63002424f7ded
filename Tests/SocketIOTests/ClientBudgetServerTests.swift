import EngineIO
import EngineIOTesting
import Testing

@testable import SocketIO

/// What a client gets at each per-client budget, over in-memory WebSockets.
@Suite struct ClientBudgetServerTests {
    private static let tight = ClientBudgetConfiguration(
        events: BudgetLimit(perSecond: 1, burst: 2), namespaceCycles: BudgetLimit(perSecond: 1, burst: 2),
        pings: BudgetLimit(perSecond: 100, burst: 100), disconnectAfter: 2000)

    @Test func eventsOverBudgetAreDroppedAndTheClientIsToldOnceASecond() {
        let harness = ServerHarness(connectTimeout: 0, budgets: Self.tight)
        var notices: [BudgetNotice] = []
        harness.server.namespace("/").onOverBudget = { _, notice in notices.append(notice) }
        let client = harness.client()
        client.clientSends("40")
        for _ in 0..<5 { client.clientSends("42[\"e\"]") }
        #expect(harness.record.events.count == 2)
        #expect(notices == [BudgetNotice(dropped: 1, limit: Self.tight.events, disconnecting: false)])
        harness.clock.advance(by: 250)
        for _ in 0..<3 { client.clientSends("42[\"e\"]") }
        #expect(notices.count == 1 && harness.record.events.count == 2)
        #expect(harness.engine.budgetCounters.refused[.events] == 6)
        #expect(client.closeCode == nil)
    }

    @Test func aSocketThatStaysOverIsDisconnectedWithADisconnectPacket() {
        let harness = ServerHarness(connectTimeout: 0, budgets: Self.tight)
        var notices: [BudgetNotice] = []
        harness.server.namespace("/").onOverBudget = { _, notice in notices.append(notice) }
        let client = harness.client()
        client.clientSends("40")
        _ = client.takeFrames()
        var elapsed: Int64 = 0
        while client.closeCode == nil, elapsed <= 3000 {
            for _ in 0..<5 { client.clientSends("42[\"e\"]") }
            client.clientSends("3")  // the harness pings every 300 ms
            harness.clock.advance(by: 100)
            elapsed += 100
        }
        #expect(client.closeCode != nil && elapsed > 2000 && elapsed <= 2200)
        #expect(client.sentFrames.contains("41"))
        #expect(notices.last?.disconnecting == true)
        #expect(harness.record.disconnects.map(\.reason) == [.serverNamespaceDisconnect])
        #expect(harness.engine.budgetCounters.disconnects == [.events: 1])
        #expect(harness.engine.sessionCount == 0)
    }

    @Test func namespaceCyclesOverBudgetGetConnectErrorThenTheSessionCloses() {
        let harness = ServerHarness(connectTimeout: 0, budgets: Self.tight)
        let client = harness.client()
        client.clientSends("40")
        client.clientSends("41")
        client.clientSends("40")
        client.clientSends("41")
        _ = client.takeFrames()
        client.clientSends("40")
        #expect(client.takeFrames().first?.hasPrefix("44{\"message\":\"Too many namespace connects") == true)
        #expect(harness.record.connects.count == 2)
        var elapsed: Int64 = 0
        while client.closeCode == nil, elapsed <= 3000 {
            client.clientSends("40")
            client.clientSends("41")
            client.clientSends("3")
            harness.clock.advance(by: 100)
            elapsed += 100
        }
        #expect(client.closeCode != nil && elapsed <= 2200)
        #expect(harness.engine.budgetCounters.disconnects == [.namespaceCycles: 1])
    }

    @Test func aPongFloodIsDroppedThenClosed() {
        // Closed by the budget before the harness's heartbeat (a 300 ms ping, 200 ms to answer) times it out.
        var budgets = Self.tight
        budgets.pings = BudgetLimit(perSecond: 1, burst: 2)
        budgets.disconnectAfter = 300
        let harness = ServerHarness(connectTimeout: 0, budgets: budgets)
        let client = harness.client()
        client.clientSends("40")
        var elapsed: Int64 = 0
        while client.closeCode == nil, elapsed <= 3000 {
            for _ in 0..<3 {
                client.clientSends("3")
                client.clientSends("6")
            }
            harness.clock.advance(by: 100)
            elapsed += 100
        }
        #expect(client.closeCode != nil && elapsed <= 400)
        #expect((harness.engine.budgetCounters.refused[.pings] ?? 0) > 10)
        #expect(harness.engine.budgetCounters.disconnects == [.pings: 1])
    }
}
