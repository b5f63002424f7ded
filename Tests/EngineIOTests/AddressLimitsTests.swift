import EngineIOTesting
import Testing

@testable import EngineIO

/// Sessions and handshakes per client address.
@Suite struct AddressLimitsTests {
    private func admits(_ limits: inout AddressLimits, _ peer: String, _ count: Int, now: Int64) -> [Bool] {
        (0..<count).map { _ in
            if case .admit = limits.admitHandshake(peer: peer, now: now, sessionRetryAfter: 45) { return true }
            return false
        }
    }

    @Test func handshakesSpendTheBurstThenGetTheRateBack() {
        var limits = AddressLimits(AddressLimitConfiguration(maxSessions: 100, handshakesPerSecond: 2, handshakeBurst: 3))
        let first = admits(&limits, "192.0.2.1", 4, now: 0)
        let other = admits(&limits, "192.0.2.2", 1, now: 0)  // a bucket of its own
        let early = admits(&limits, "192.0.2.1", 1, now: 499)
        let onTime = admits(&limits, "192.0.2.1", 2, now: 500)  // two a second: one per 500 ms
        let idle = admits(&limits, "192.0.2.1", 4, now: .max / 2)  // a long idle refills to the burst, no further, no overflow
        #expect(first == [true, true, true, false] && other == [true] && early == [false] && onTime == [true, false])
        #expect(idle == [true, true, true, false])
        #expect(limits.refused[.handshakeRate] == 4 && limits.refused[.sessionsPerAddress] == nil)
    }

    @Test func aRefusalSaysWhenToComeBack() {
        var limits = AddressLimits(AddressLimitConfiguration(maxSessions: 1, handshakesPerSecond: 1, handshakeBurst: 10))
        _ = limits.admitHandshake(peer: "a", now: 0, sessionRetryAfter: 45)
        limits.sessionOpened(peer: "a", now: 0)
        guard case .refuse(let full) = limits.admitHandshake(peer: "a", now: 0, sessionRetryAfter: 45) else {
            Issue.record("admitted")
            return
        }
        #expect(full.cause == .sessionsPerAddress && full.retryAfterSeconds == 45)
        var slow = AddressLimits(AddressLimitConfiguration(handshakesPerSecond: 1, handshakeBurst: 1))
        _ = slow.admitHandshake(peer: "b", now: 0, sessionRetryAfter: 45)
        guard case .refuse(let rate) = slow.admitHandshake(peer: "b", now: 1, sessionRetryAfter: 45) else {
            Issue.record("admitted")
            return
        }
        #expect(rate.cause == .handshakeRate && rate.retryAfterSeconds == 1)
        var slower = AddressLimits(AddressLimitConfiguration(handshakesPerSecond: 1, handshakeBurst: 1))
        _ = slower.admitHandshake(peer: "c", now: 0, sessionRetryAfter: 45)
        guard case .refuse(let wait) = slower.admitHandshake(peer: "c", now: 0, sessionRetryAfter: 45) else {
            Issue.record("admitted")
            return
        }
        #expect(wait.retryAfterSeconds == 1)
    }

    @Test func sessionsAreCountedPerAddressUntilTheyClose() {
        var limits = AddressLimits(AddressLimitConfiguration(maxSessions: 2, handshakesPerSecond: 1000, handshakeBurst: 1000))
        for _ in 0..<2 {
            _ = limits.admitHandshake(peer: "198.51.100.1", now: 0, sessionRetryAfter: 45)
            limits.sessionOpened(peer: "198.51.100.1", now: 0)
        }
        #expect(admits(&limits, "198.51.100.1", 1, now: 0) == [false] && admits(&limits, "198.51.100.2", 1, now: 0) == [true])
        limits.sessionClosed(peer: "198.51.100.1")
        #expect(limits.sessions(of: "198.51.100.1") == 1 && admits(&limits, "198.51.100.1", 1, now: 0) == [true])
        limits.sessionClosed(peer: "198.51.100.9")  // never seen: nothing to count down, nothing added
        #expect(limits.trackedAddresses == 2)
    }

    @Test func anIPv6AddressCountsByItsSlash64() {
        var limits = AddressLimits(AddressLimitConfiguration(maxSessions: 2))
        limits.sessionOpened(peer: "2001:db8:1:2::1", now: 0)
        limits.sessionOpened(peer: "2001:db8:1:2:ffff:ffff:ffff:ffff", now: 0)
        #expect(admits(&limits, "2001:db8:1:2:abcd::9", 1, now: 0) == [false])
        #expect(admits(&limits, "2001:db8:1:3::1", 1, now: 0) == [true])
        #expect(AddressLimits.group("2001:DB8:1:2:aaaa::1") == "2001:db8:1:2::/64")
        #expect(AddressLimits.group("::ffff:192.0.2.1") == "192.0.2.1" && AddressLimits.group("test") == "test")
    }

    @Test func anEpisodeIsLoggedWhenItBeginsThenOnceAMinuteAndWhenItEnds() {
        var limits = AddressLimits(AddressLimitConfiguration(handshakesPerSecond: 1, handshakeBurst: 1))
        var lines: [Int] = []
        var ended: [Int] = []
        var refused = 0
        func attempt(_ now: Int64) {
            switch limits.admitHandshake(peer: "x", now: now, sessionRetryAfter: 45) {
            case .admit(let count): if let count { ended.append(count) }
            case .refuse(let refusal):
                refused += 1
                if let count = refusal.refusedSinceLastLine { lines.append(count) }
            }
        }
        // A script trying every millisecond for 70 s: one handshake a second gets through, which does not end
        // its episode; one line when it begins, one a minute later with the count.
        for now in Int64(0)..<70_000 { attempt(now) }
        #expect(lines.count == 2 && lines.first == 1 && lines.reduce(0, +) < refused && refused > 69_000)
        #expect(ended.isEmpty)
        // Quiet for 10 s: the next handshake ends the episode, with its whole count, once.
        attempt(80_000)
        attempt(90_000)
        #expect(ended == [refused])
        attempt(90_000)  // a new episode begins with a line of its own
        #expect(lines.count == 3 && lines.last == 1)
    }

    @Test func theTableIsBoundedAndForgettingAnAddressThatHeldSomethingIsCounted() {
        var limits = AddressLimits(AddressLimitConfiguration(maxSessions: 5, handshakesPerSecond: 1, handshakeBurst: 2, tableSize: 100))
        for index in 0..<100 { _ = limits.admitHandshake(peer: "10.0.0.\(index)", now: 0, sessionRetryAfter: 45) }  // buckets draining
        for index in 0..<50 { _ = limits.admitHandshake(peer: "10.0.1.\(index)", now: 0, sessionRetryAfter: 45) }
        #expect(limits.trackedAddresses == 100 && limits.evictions == 50)
        // Addresses whose buckets are full again and hold no session are forgotten without a count.
        for index in 0..<100 { _ = limits.admitHandshake(peer: "10.0.2.\(index)", now: 10_000, sessionRetryAfter: 45) }
        #expect(limits.trackedAddresses == 100 && limits.evictions == 50)
        // An address with a session open is counted when it goes.
        limits.sessionOpened(peer: "10.0.3.1", now: 20_000)
        for index in 0..<100 { _ = limits.admitHandshake(peer: "10.0.4.\(index)", now: 30_000, sessionRetryAfter: 45) }
        #expect(limits.evictions == 51 && limits.sessions(of: "10.0.3.1") == 0)
    }

    @Test func theEngineAnswersAPollingHandshakeOverTheBoundWith429() {
        let engine = EngineServer(
            configuration: EngineConfiguration(pingInterval: 25_000, pingTimeout: 20_000, addressLimits: AddressLimitConfiguration(maxSessions: 2)),
            clock: ManualClock(), log: Logger(level: .error, sink: { _ in }))
        defer { engine.closeAll() }
        let statuses = (0..<3).map { _ in engine.requestInMemory(.get, query: "EIO=4&transport=polling").response?.status }
        #expect(statuses == [200, 200, 429])
        let refused = engine.requestInMemory(.get, query: "EIO=4&transport=polling").response
        #expect(refused?.headers.contains(HTTPHeader("Retry-After", "45")) == true)
        #expect(String(decoding: refused?.body ?? [], as: UTF8.self) == "{\"code\":429,\"message\":\"Too many sessions from this address\"}")
        #expect(engine.addressLimitCounters.refused[.sessionsPerAddress] == 2 && engine.addressLimitCounters.trackedAddresses == 1)
        // A WebSocket handshake is refused before the upgrade; one with a sid (an upgrade) is not a handshake.
        let request = HTTPRequest(method: .get, path: "/socket.io/", query: QueryParameters("EIO=4&transport=websocket"), peer: "test")
        #expect(engine.refusal(for: request, arrivingOn: .websocket)?.status == 429)
        let other = HTTPRequest(method: .get, path: "/socket.io/", query: QueryParameters("EIO=4&transport=websocket"), peer: "elsewhere")
        #expect(engine.refusal(for: other, arrivingOn: .websocket) == nil)
        // Sessions that close make room again.
        engine.closeAll()
        #expect(engine.requestInMemory(.get, query: "EIO=4&transport=polling").response?.status == 200)
    }
}
