import Testing

@testable import QuenchLWS

@Suite struct LogThrottleTests {
    @Test("one line per interval; the next line counts those held back")
    func throttles() {
        var throttle = LogThrottle(intervalMilliseconds: 1000)
        #expect(throttle.admit(now: 0) == 0)
        #expect(throttle.admit(now: 10) == nil)
        #expect(throttle.admit(now: 999) == nil)
        #expect(throttle.admit(now: 1000) == 2)
        #expect(throttle.admit(now: 5000) == 0)
    }
}
