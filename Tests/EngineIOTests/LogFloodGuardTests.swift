import Testing

@testable import EngineIO

/// Lines a client causes at will: the first few of a kind per source and window are written, the rest
/// counted and reported by the next line written; the table of sources is bounded.
@Suite struct LogFloodGuardTests {
    @Test func theFirstLinesOfAWindowAreWrittenAndTheRestCountedInTheNext() {
        let guardian = LogFloodGuard(burst: 3, window: 1000, capacity: 100)
        let admitted = (0..<10).map { guardian.admit(cause: "bad", source: "10.0.0.1", now: 5000 + Int64($0)) }
        #expect(admitted == [0, 0, 0, nil, nil, nil, nil, nil, nil, nil])
        #expect(guardian.suppressedLines == 7)
        #expect(guardian.admit(cause: "bad", source: "10.0.0.1", now: 6100) == 7)  // a new window says how many
        #expect(guardian.admit(cause: "bad", source: "10.0.0.1", now: 6101) == 0)
    }

    @Test func sourcesAndCausesAreCountedApart() {
        let guardian = LogFloodGuard(burst: 1, window: 1000, capacity: 100)
        #expect(guardian.admit(cause: "bad", source: "10.0.0.1", now: 0) == 0)
        #expect(guardian.admit(cause: "bad", source: "10.0.0.1", now: 1) == nil)
        #expect(guardian.admit(cause: "bad", source: "10.0.0.2", now: 2) == 0)
        #expect(guardian.admit(cause: "other", source: "10.0.0.1", now: 3) == 0)
    }

    @Test func aFullTableSendsNewSourcesToOneSharedKey() {
        let guardian = LogFloodGuard(burst: 1, window: 1000, capacity: 4)
        for index in 0..<4 { #expect(guardian.admit(cause: "bad", source: "10.0.0.\(index)", now: 0) == 0) }
        // Made-up sources past the bound share one key: one line, then nothing, however many there are.
        #expect(guardian.admit(cause: "bad", source: "10.0.1.1", now: 1) == 0)
        for index in 2..<200 { #expect(guardian.admit(cause: "bad", source: "10.0.1.\(index)", now: 1) == nil) }
        // Once the old windows are over, the table is swept and new sources get keys of their own again.
        #expect(guardian.admit(cause: "bad", source: "10.0.2.1", now: 2000) == 0)
        #expect(guardian.admit(cause: "bad", source: "10.0.2.2", now: 2000) == 0)
    }

    @Test func anIPv6AddressIsCountedByItsSlash64() {
        #expect(LogFloodGuard.group("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64")
        #expect(LogFloodGuard.group("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64")
        #expect(LogFloodGuard.group("127.0.0.1") == "127.0.0.1")
        #expect(LogFloodGuard.group("not an address") == "not an address")
        let guardian = LogFloodGuard(burst: 1, window: 1000, capacity: 100)
        #expect(guardian.admit(cause: "bad", source: "2001:db8:1:2:aaaa::1", now: 0) == 0)
        #expect(guardian.admit(cause: "bad", source: "2001:db8:1:2:cccc::2", now: 1) == nil)
    }

    @Test func aLoggerWritesTheCountIntoTheNextLine() {
        final class Lines: @unchecked Sendable { var all: [String] = [] }
        let lines = Lines()
        let log = Logger(level: .info, sink: ClosureLogSink { lines.all.append($0) }, floodGuard: LogFloodGuard(burst: 2, window: 60_000))
        for index in 0..<50 { log.limited(.warn, cause: "refused", source: "10.0.0.9", "refused \(index)") }
        #expect(lines.all == ["warn refused 0\n", "warn refused 1\n"])
        #expect(log.floodGuard.suppressedLines == 48)
        log.limited(.debug, cause: "refused", source: "10.0.0.9", "below the level")  // not counted: never written anyway
        #expect(log.floodGuard.suppressedLines == 48)
    }
}
