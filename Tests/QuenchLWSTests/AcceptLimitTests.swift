import Testing

@testable import QuenchLWS

@Suite struct AcceptLimitTests {
    @Test("below the limit every connection is admitted and nothing is logged")
    func belowTheLimit() {
        var limit = AcceptLimit(pauseAt: 100)
        for open in 0..<100 {
            let (pause, event) = limit.accepted(whileOpen: open)
            #expect(!pause && event == nil)
        }
        #expect(!limit.paused)
    }

    @Test("at the limit each accept pauses the listener, with one event per episode however often the count flips")
    func oneEpisodeAtTheLimit() {
        var limit = AcceptLimit(pauseAt: 100)
        var first = limit.accepted(whileOpen: 100)
        #expect(first.pause && first.event == .paused)
        // A server sitting at the limit: each close lets one in below it, and the next accept pauses again.
        for _ in 0..<50 {
            #expect(limit.closed(leaving: 99) == nil)
            #expect(!limit.accepted(whileOpen: 99).pause)
            first = limit.accepted(whileOpen: 100)
            #expect(first.pause && first.event == nil)
        }
        #expect(limit.paused && limit.acceptedAtLimit == 51)
    }

    @Test("an episode ends at three quarters of the limit, reporting how many came in at the limit; the next one starts afresh")
    func episodeEnds() {
        var limit = AcceptLimit(pauseAt: 100)
        _ = limit.accepted(whileOpen: 100)
        _ = limit.accepted(whileOpen: 100)
        #expect(limit.closed(leaving: 76) == nil)
        #expect(limit.closed(leaving: 75) == .resumed(acceptedAtLimit: 2))
        #expect(limit.closed(leaving: 10) == nil)
        #expect(!limit.paused && limit.acceptedAtLimit == 0)
        #expect(limit.accepted(whileOpen: 100).event == .paused)
    }
}
