import EngineIO
import EngineIOTesting
import QuenchSystem
import SocketIO
import Testing

@testable import QuenchApp

/// The Admin UI's namespace on a real Socket.IO and Engine.IO stack, over in-memory WebSockets.
final class AdminHarness {
    let clock = ManualClock()
    let engine: EngineServer
    let socketIO: SocketIOServer
    let admin: AdminUI
    let app: ChatApp

    /// Ends the sessions a test left open, and lets go of the observer (the server and the UI hold each other
    /// while someone watches).
    deinit {
        engine.closeAll()
        socketIO.observer = nil
    }

    init(readOnly: Bool = false, eventsPerSecond: Int = 50, recoveryWindow: Int64 = 0) {
        engine = EngineServer(configuration: EngineConfiguration(pingInterval: 25_000, pingTimeout: 20_000), clock: clock, log: Logger(level: .error))
        clock.engine = engine
        socketIO = SocketIOServer(engine: engine, configuration: SocketIOConfiguration(recoveryWindow: recoveryWindow))
        let time = WallTime(nanoseconds: 1_796_533_642_675_000_000, hour: 5, minute: 7, second: 22, utcOffset: 0)
        app = ChatApp(server: socketIO, clock: FixedClock(time: time))
        // A stand-in for crypt_r: the "hash" is the password reversed.
        admin = AdminUI(
            server: socketIO,
            configuration: AdminConfiguration(
                authentication: .basic(username: "admin", bcryptHash: "terces"), readOnly: readOnly, eventsPerSecond: eventsPerSecond, hostname: "h",
                pid: 7),
            verify: { password, hash in String(password.reversed()) == hash }, clock: FixedClock(time: time))
        admin.start()
    }

    func client(_ connect: String) -> InMemoryWebSocket {
        let client = engine.connectInMemory()
        _ = client.takeFrames()
        client.clientSends(connect)
        return client
    }

    func adminClient() -> InMemoryWebSocket { client(#"40/admin,{"username":"admin","password":"secret"}"#) }
}

@Suite struct AdminUITests {
    @Test func nobodyWatchingMeansNoObserver() {
        let harness = AdminHarness()
        #expect(harness.socketIO.observer == nil)
        let admin = harness.adminClient()
        #expect(harness.socketIO.observer === harness.admin)
        admin.clientSends("41/admin,")
        #expect(harness.socketIO.observer == nil)
    }

    @Test func theAdminNamespaceKeepsNoRecoveryLog() {
        let harness = AdminHarness(recoveryWindow: 120_000)
        #expect(harness.socketIO.namespace("/").recoveryCounts != nil)
        #expect(harness.socketIO.namespace("/admin").recoveryCounts == nil)
        let frames = harness.adminClient().takeFrames()
        #expect(frames[2].hasPrefix(#"42/admin,["config",{"supportedFeatures":["#) && frames[2].hasSuffix("}]"))
    }

    @Test func anotherNodesWatcherTurnsTheObserverOnForAWhile() {
        let harness = AdminHarness()
        harness.socketIO.apply(.application(namespace: "/admin", name: "admin_watching", arguments: []))
        #expect(harness.socketIO.observer === harness.admin)
        harness.clock.advance(by: 4000)
        #expect(harness.socketIO.observer === harness.admin)
        harness.clock.advance(by: 2000)  // three stats periods without news
        #expect(harness.socketIO.observer == nil)
    }

    @Test func loginSendsSessionConfigAndSockets() {
        let harness = AdminHarness()
        let frames = harness.adminClient().takeFrames()
        #expect(frames.count == 5)
        #expect(frames[0].hasPrefix(#"40/admin,{"sid":""#))
        #expect(frames[1].hasPrefix(#"42/admin,["session",""#))
        #expect(frames[2] == #"42/admin,["config",{"supportedFeatures":["EMIT","JOIN","LEAVE","DISCONNECT","MJOIN","MLEAVE","MDISCONNECT","AGGREGATED_EVENTS","ALL_EVENTS"]}]"#)
        #expect(frames[3].hasPrefix(#"42/admin,["all_sockets",[{"id":""#))
        #expect(frames[3].contains(#""time":"2026-12-06T05:07:22.675Z""#))
        #expect(frames[4].hasPrefix(#"42/admin,["socket_connected",{"id":""#))
    }

    @Test(arguments: [#"{"username":"admin","password":"wrong"}"#, #"{"username":"root","password":"secret"}"#, "", #"{"sessionId":"x"}"#])
    func badLoginsGetTheUIsMessage(_ auth: String) {
        let harness = AdminHarness()
        let client = harness.client("40/admin," + auth)
        #expect(client.takeFrames() == [#"44/admin,{"message":"invalid credentials"}"#])
    }

    @Test func theSessionIDLogsInAgainAndThePasswordIsNotKept() throws {
        let harness = AdminHarness()
        let frames = harness.adminClient().takeFrames()
        let session = try #require(frames[1].split(separator: "\"").dropFirst(3).first)
        #expect(!harness.socketIO.namespace("/admin").sockets.values.contains { $0.auth?["password"] != nil })
        let again = harness.client(#"40/admin,{"sessionId":"\#(session)"}"#).takeFrames()
        #expect(again[0].hasPrefix(#"40/admin,{"sid":""#) && again[1].hasPrefix(#"42/admin,["config""#))
    }

    @Test func guessesAreBudgetedPerAddress() {
        let harness = AdminHarness()
        var answers: [String] = []
        for _ in 0..<7 { answers += harness.client(#"40/admin,{"username":"admin","password":"guess"}"#).takeFrames() }
        #expect(answers.prefix(5).allSatisfy { $0.contains("invalid credentials") })
        #expect(answers.suffix(2).allSatisfy { $0.contains("too many login attempts") })
    }

    @Test func hashingIsBudgetedByTheTimeItTakes() {
        final class Time { var now: Int64 = 0 }
        let time = Time()
        // Each check takes 300 ms; the node may spend 500 ms at once, then 100 ms a second.
        var login = AdminLogin(authentication: .basic(username: "admin", bcryptHash: "h"), verify: { _, _ in
            time.now += 300
            return false
        }, now: 0)
        func attempt(_ peer: String) -> String? {
            guard case .refused(let message, _) = login.check(["username": "admin", "password": "p"], peer: peer, now: { time.now }) else { return nil }
            return message
        }
        #expect(attempt("a") == AdminLogin.invalidCredentials)  // 500 → 200 ms left
        #expect(attempt("b") == AdminLogin.invalidCredentials)  // 30 refilled while "a" hashed: 230 → -70
        #expect(attempt("c") == AdminLogin.tooManyAttempts)  // -40, unchecked
        time.now += 400  // +40: none left
        #expect(attempt("d") == AdminLogin.tooManyAttempts)
        time.now += 10  // +1
        #expect(attempt("e") == AdminLogin.invalidCredentials)  // checked: 299 ms owed now
        #expect(attempt("a") == AdminLogin.tooManyAttempts)  // "a" has tokens of its own; the node has none
    }

    @Test func eventsAndActionsAreReported() {
        let harness = AdminHarness()
        let admin = harness.adminClient()
        let user = harness.client("40")
        let sid = harness.socketIO.namespace("/").sockets.keys.first!
        var frames = admin.takeFrames()
        #expect(frames.contains { $0.hasPrefix(#"42/admin,["socket_connected",{"id":"\#(sid)""#) })
        #expect(frames.contains { $0.hasPrefix(#"42/admin,["event_sent","/","\#(sid)",["system_message""#) })
        user.clientSends(#"42["user_message",{"text":"hi"}]"#)
        frames = admin.takeFrames()
        #expect(frames.first == #"42/admin,["event_received","/","\#(sid)",["user_message",{"text":"hi"}],"2026-12-06T05:07:22.675Z"]"#)
        admin.clientSends(#"42/admin,["join","/","lobby","\#(sid)"]"#)
        #expect(admin.takeFrames() == [#"42/admin,["room_joined","/","lobby","\#(sid)","2026-12-06T05:07:22.675Z"]"#])
        _ = user.takeFrames()
        admin.clientSends(#"42/admin,["emit","/","lobby","announce",{"n":1}]"#)
        #expect(user.takeFrames() == [#"42["announce",{"n":1}]"#])
        admin.clientSends(#"42/admin,["_disconnect","/",false,"\#(sid)"]"#)
        #expect(user.takeFrames() == ["41"])
        #expect(admin.takeFrames().contains { $0.hasPrefix(#"42/admin,["socket_disconnected","/","\#(sid)","server namespace disconnect""#) })
    }

    @Test func readOnlyRefusesActions() {
        let harness = AdminHarness(readOnly: true)
        let admin = harness.adminClient()
        #expect(admin.takeFrames()[2] == #"42/admin,["config",{"supportedFeatures":["AGGREGATED_EVENTS","ALL_EVENTS"]}]"#)
        let user = harness.client("40")
        let sid = harness.socketIO.namespace("/").sockets.keys.first!
        _ = user.takeFrames()
        admin.clientSends(#"42/admin,["_disconnect","/",false,"\#(sid)"]"#)
        admin.clientSends(#"42/admin,["emit","/",null,"announce"]"#)
        #expect(user.takeFrames() == [])
        #expect(harness.socketIO.namespace("/").sockets[sid] != nil)
    }

    @Test func theEventFeedIsBounded() {
        let harness = AdminHarness(eventsPerSecond: 3)
        let admin = harness.adminClient()
        let user = harness.client("40")
        _ = admin.takeFrames()
        for _ in 0..<10 { user.clientSends(#"42["user_message",{"text":"hi"}]"#) }
        let reports = admin.takeFrames().filter { $0.contains("\"event_") }
        #expect(reports.count == 2)  // the welcome's event_sent took the third token
        harness.clock.advance(by: 1000)
        user.clientSends(#"42["user_message",{"text":"hi"}]"#)
        #expect(admin.takeFrames().filter { $0.contains("\"event_") }.count == 2)
    }

    @Test func serverStatsCountWhatTheEngineCounted() throws {
        let harness = AdminHarness()
        let admin = harness.adminClient()
        _ = admin.takeFrames()
        harness.clock.advance(by: 2000)
        let frames = admin.takeFrames().filter { $0.contains("server_stats") }
        try #require(frames.count == 1)
        #expect(frames[0].hasPrefix(#"42/admin,["server_stats",{"serverId":"h","hostname":"h","pid":7,"uptime":2"#))
        #expect(frames[0].contains(#"{"timestamp":1796533642000,"type":"rawConnection","count":1}"#))
        #expect(frames[0].contains(#""namespaces":[{"name":"/","socketsCount":0},{"name":"/admin","socketsCount":1}]"#))
    }

    @Test(arguments: [
        ("emit", #"["/",null,"e",1,2]"#, AdminAction.Kind.emit(event: "e", arguments: [1, 2]), nil as String?),
        ("join", #"["/","r","f"]"#, .join(room: "r"), "f"), ("leave", #"["/","r"]"#, .leave(room: "r"), nil),
        ("_disconnect", #"["/",true,""]"#, .disconnect(close: true), nil),
    ])
    func actionsDecode(_ name: String, _ arguments: String, _ kind: AdminAction.Kind, _ filter: String?) throws {
        let parsed = try #require(try JSONParser.parse(Array(arguments.utf8)).arrayValue)
        #expect(AdminAction(name, parsed) == AdminAction(namespace: "/", filter: filter, kind: kind))
    }

    @Test(arguments: [("emit", #"["/"]"#), ("join", #"[1,"r"]"#), ("_disconnect", #"["/","yes"]"#), ("leave", #"["/","r",3]"#), ("other", #"["/"]"#)])
    func malformedActionsAreRefused(_ name: String, _ arguments: String) throws {
        let parsed = try #require(try JSONParser.parse(Array(arguments.utf8)).arrayValue)
        #expect(AdminAction(name, parsed) == nil)
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"), (1_796_533_642_675, "2026-12-06T05:07:22.675Z"), (951_782_400_001, "2000-02-29T00:00:00.001Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
    ])
    func isoTimes(_ milliseconds: Int64, _ text: String) {
        #expect(ISOTime.text(milliseconds: milliseconds) == text)
    }
}
