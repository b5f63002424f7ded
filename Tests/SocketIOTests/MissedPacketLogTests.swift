import EngineIO
import Testing

@testable import SocketIO

/// The recovery log on its own: offsets, what a session missed, the byte bound, and the refusals.
@Suite struct MissedPacketLogTests {
    private func packet(_ text: String, offset: String) -> EncodedPacket {
        EncodedPacket(event: "m", [.string(text)], namespace: "/", offset: offset)
    }

    private func texts(_ packets: [EncodedPacket]) -> [String] {
        packets.map { String(decoding: $0.text.payload, as: UTF8.self) }
    }

    /// Appends `text` to `rooms` and returns the offset it carries.
    @discardableResult
    private func append(_ log: inout MissedPacketLog, _ text: String, rooms: [String]?, skip: [String] = []) -> String {
        let offset = log.nextOffset
        log.append(packet(text, offset: offset), target: .init(rooms: rooms, skip: skip))
        return offset
    }

    @Test func theOffsetIsTheLastArgument() {
        #expect(texts([packet("hi", offset: "17")]) == ["2[\"m\",\"hi\",\"17\"]"])
        let binary = EncodedPacket(event: "b", [.binary([1, 2])], namespace: "/chat", offset: "9")
        #expect(String(decoding: binary.text.payload, as: UTF8.self) == "51-/chat,[\"b\",{\"_placeholder\":true,\"num\":0},\"9\"]")
        #expect(binary.attachments.count == 1)
    }

    @Test func offsetsFollowEachOtherAndMissedIsWhatCameAfterForTheSessionsRooms() {
        var log = MissedPacketLog(byteLimit: 1 << 20, firstSequence: 500)
        let first = append(&log, "to-a", rooms: ["A"])
        #expect(first == "500")
        append(&log, "to-b", rooms: ["B"])
        append(&log, "all", rooms: nil)
        append(&log, "all-but-a", rooms: nil, skip: ["A"])
        append(&log, "to-room", rooms: ["room", "elsewhere"])
        #expect(log.nextOffset == "505")
        guard case .packets(let missed) = log.missed(after: first, rooms: ["A", "room"]) else {
            Issue.record("refused")
            return
        }
        #expect(texts(missed) == ["2[\"m\",\"all\",\"502\"]", "2[\"m\",\"to-room\",\"504\"]"])
        // The newest offset: nothing missed.
        guard case .packets(let none) = log.missed(after: "504", rooms: ["A"]) else {
            Issue.record("refused")
            return
        }
        #expect(none.isEmpty)
    }

    @Test(arguments: ["", "abc", "-1", "+501", " 501", "501 ", "1e3", "0x1f5", "499", "505", "99999999999999999999", "184467440737095516160"])
    func offsetsThisLogNeverHandedOutAreUnknown(offset: String) {
        var log = MissedPacketLog(byteLimit: 1 << 20, firstSequence: 500)
        for index in 0..<5 { append(&log, "p\(index)", rooms: nil) }
        guard case .offsetUnknown = log.missed(after: offset, rooms: ["A"]) else {
            Issue.record("\(offset) was not refused as unknown")
            return
        }
    }

    @Test func theBoundDropsTheOldestAndARecoveryNeedingOneIsRefused() {
        let size = packet("xxxxxxxx", offset: "1000").byteCount + MissedPacketLog.entryOverhead
        var log = MissedPacketLog(byteLimit: size * 3, firstSequence: 1000)
        var offsets: [String] = []
        for _ in 0..<5 { offsets.append(append(&log, "xxxxxxxx", rooms: nil)) }
        // Five packets of one size, room for three: 1000 and 1001 went.
        #expect(log.count == 3)
        #expect(log.bytes <= log.byteLimit)
        #expect(log.dropped == 2)
        #expect(log.firstSequence == 1002)
        guard case .offsetDropped = log.missed(after: offsets[0], rooms: ["A"]) else {
            Issue.record("a recovery that needs packet 1001 (dropped) was not refused")
            return
        }
        // 1001 itself is gone, but a client that saw it needs only 1002 on, all kept.
        guard case .packets(let missed) = log.missed(after: offsets[1], rooms: ["A"]) else {
            Issue.record("refused though nothing it needs was dropped")
            return
        }
        #expect(missed.count == 3)
    }

    @Test func aPacketLargerThanTheWholeBoundEmptiesTheLogAndIsNotKept() {
        var log = MissedPacketLog(byteLimit: 400, firstSequence: 10)
        let before = append(&log, "small", rooms: nil)
        let big = append(&log, String(repeating: "x", count: 1000), rooms: nil)
        #expect(log.count == 0)
        #expect(log.bytes == 0)
        guard case .offsetDropped = log.missed(after: before, rooms: ["A"]) else {
            Issue.record("the client that missed the big packet was not refused")
            return
        }
        guard case .packets(let missed) = log.missed(after: big, rooms: ["A"]), missed.isEmpty else {
            Issue.record("the client that got the big packet has nothing to miss")
            return
        }
    }

    @Test func manyDropsKeepTheRightPacketsAcrossCompaction() {
        let size = packet("p", offset: "100000").byteCount + MissedPacketLog.entryOverhead
        var log = MissedPacketLog(byteLimit: size * 10, firstSequence: 100_000)
        var offsets: [String] = []
        for index in 0..<5000 { offsets.append(append(&log, "\(index % 10)", rooms: nil)) }
        #expect(log.count <= 10)
        guard case .packets(let missed) = log.missed(after: offsets[4995], rooms: ["A"]) else {
            Issue.record("refused")
            return
        }
        #expect(texts(missed) == (4996..<5000).map { "2[\"m\",\"\($0 % 10)\",\"\(100_000 + $0)\"]" })
    }
}

/// The kept sessions on their own: the window, the bound, and once only.
@Suite struct RecoverableSessionsTests {
    private func session(_ pid: String, at time: Int64) -> RecoverableSessions.Session {
        .init(pid: pid, sid: "sid-\(pid)", rooms: ["r"], data: nil, disconnectedAt: time)
    }

    @Test func aSessionIsTakenOnceWithinTheWindow() {
        var sessions = RecoverableSessions(window: 1000, limit: 10)
        sessions.keep(session("a", at: 0))
        guard case .found(let found) = sessions.take("a", now: 1000) else {
            Issue.record("not found at the end of the window")
            return
        }
        #expect(found.sid == "sid-a")
        guard case .unknown = sessions.take("a", now: 1000) else {
            Issue.record("taken twice")
            return
        }
        guard case .unknown = sessions.take("never", now: 0) else {
            Issue.record("an unknown pid was found")
            return
        }
    }

    @Test func pastTheWindowItIsRefusedAndSweptAway() {
        var sessions = RecoverableSessions(window: 1000, limit: 10)
        sessions.keep(session("a", at: 0))
        sessions.keep(session("b", at: 500))
        guard case .expired = sessions.take("a", now: 1001) else {
            Issue.record("an expired session was recovered")
            return
        }
        #expect(sessions.nextExpiry == 1500)
        sessions.removeExpired(now: 1501)
        #expect(sessions.count == 0)
        #expect(sessions.nextExpiry == nil)
    }

    @Test func theBoundDropsTheOldest() {
        var sessions = RecoverableSessions(window: 1000, limit: 3)
        for index in 0..<5 { sessions.keep(session("p\(index)", at: Int64(index))) }
        #expect(sessions.count == 3)
        #expect(sessions.droppedAtLimit == 2)
        guard case .unknown = sessions.take("p1", now: 10), case .found = sessions.take("p2", now: 10) else {
            Issue.record("the wrong session was dropped")
            return
        }
    }

    private func session(_ pid: String, at time: Int64, from address: String) -> RecoverableSessions.Session {
        .init(pid: pid, sid: "sid-\(pid)", rooms: [], data: nil, disconnectedAt: time, address: address)
    }

    @Test func oneAddressChurningReplacesOnlyItsOwnKeptSessions() {
        // 100 in all, 10 per address: the others' 5 sessions survive 10 000 join-and-drops from one address.
        var sessions = RecoverableSessions(window: 1_000_000, limit: 100, perAddressLimit: 10)
        for index in 0..<5 { sessions.keep(session("good\(index)", at: Int64(index), from: "127.0.0.1")) }
        for index in 0..<10_000 { sessions.keep(session("churn\(index)", at: Int64(10 + index), from: "127.0.0.2")) }
        #expect(sessions.keptCount(address: "127.0.0.2") == 10)
        #expect(sessions.keptCount(address: "127.0.0.1") == 5)
        #expect(sessions.droppedAtAddressLimit == 9_990)
        #expect(sessions.droppedAtLimit == 0)
        #expect(sessions.orderEntries <= 1025)
        for index in 0..<5 {
            guard case .found = sessions.take("good\(index)", now: 20_000) else {
                Issue.record("good\(index) was pushed out by another address's churn")
                return
            }
        }
        // The address's own oldest went: its newest ten are the ones kept.
        guard case .unknown = sessions.take("churn9989", now: 20_000), case .found = sessions.take("churn9990", now: 20_000) else {
            Issue.record("the churning address kept the wrong sessions")
            return
        }
        #expect(sessions.keptCount(address: "127.0.0.2") == 9)
        #expect(sessions.keptCount(address: "127.0.0.1") == 0)
    }

    @Test func theTotalBoundStillHoldsAcrossAddresses() {
        var sessions = RecoverableSessions(window: 1_000_000, limit: 4, perAddressLimit: 3)
        for index in 0..<6 { sessions.keep(session("p\(index)", at: Int64(index), from: "a\(index % 3)")) }
        #expect(sessions.count == 4)
        #expect(sessions.droppedAtLimit == 2)
        #expect(sessions.droppedAtAddressLimit == 0)
        #expect(sessions.keptCount(address: "a0") + sessions.keptCount(address: "a1") + sessions.keptCount(address: "a2") == 4)
    }

    @Test func restoredSessionsDoNotGrowTheOrderWithoutBound() {
        var sessions = RecoverableSessions(window: 1_000_000, limit: 100_000)
        for index in 0..<20_000 {
            sessions.keep(session("p\(index)", at: Int64(index)))
            _ = sessions.take("p\(index)", now: Int64(index))
        }
        #expect(sessions.count == 0)
        #expect(sessions.orderEntries <= 1025)
        #expect(sessions.nextExpiry == nil)
    }
}
