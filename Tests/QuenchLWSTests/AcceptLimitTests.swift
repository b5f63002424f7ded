import Testing

@testable import QuenchLWS

@Suite struct AcceptLimitTests {
    @Test("below the limit every connection is admitted and nothing is logged")
    func belowTheLimit() {
        var limit = AcceptLimit(pauseAt: 100)
        for open in 0..<100 {
            let (admit, event) = limit.accepted(whileOpen: open)
            #expect(admit && event == nil)
        }
        #expect(!limit.paused)
    }

    @Test("at the limit connections are turned away, with one event per episode however often the count flips")
    func oneEpisodeAtTheLimit() {
        var limit = AcceptLimit(pauseAt: 100)
        var first = limit.accepted(whileOpen: 100)
        #expect(!first.admit && first.event == .paused)
        // A server sitting at the limit: each close lets one in, the next is turned away.
        for _ in 0..<50 {
            #expect(limit.closed(leaving: 99) == nil)
            #expect(limit.accepted(whileOpen: 99).admit)
            first = limit.accepted(whileOpen: 100)
            #expect(!first.admit && first.event == nil)
        }
        #expect(limit.paused && limit.refused == 51)
    }

    @Test("an episode ends at three quarters of the limit, reporting how many were turned away; the next one starts afresh")
    func episodeEnds() {
        var limit = AcceptLimit(pauseAt: 100)
        _ = limit.accepted(whileOpen: 100)
        _ = limit.accepted(whileOpen: 100)
        #expect(limit.closed(leaving: 76) == nil)
        #expect(limit.closed(leaving: 75) == .resumed(refused: 2))
        #expect(limit.closed(leaving: 10) == nil)
        #expect(!limit.paused && limit.refused == 0)
        #expect(limit.accepted(whileOpen: 100).event == .paused)
    }
}
