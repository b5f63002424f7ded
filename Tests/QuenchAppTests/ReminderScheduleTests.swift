import Testing

@testable import QuenchApp

@Suite struct ReminderScheduleTests {
    private let second: Int64 = 1_000_000_000

    @Test func everyEvenMinuteInUTC() {
        let schedule = ReminderSchedule(intervalSeconds: 120)
        // 2026-11-26 16:43:17.5 UTC
        let now = 1_795_711_397 * second + second / 2
        let next = schedule.nextBoundary(after: now, utcOffset: 0)
        #expect(next == 1_795_711_440 * second)  // 16:44:00
        #expect(next % (120 * second) == 0)
    }

    @Test func aBoundaryItselfMovesOnToTheNextOneSoNothingFiresTwice() {
        let schedule = ReminderSchedule(intervalSeconds: 120)
        let boundary = 1_795_711_440 * second
        #expect(schedule.nextBoundary(after: boundary, utcOffset: 0) == boundary + 120 * second)
        #expect(schedule.nextBoundary(after: boundary - 1, utcOffset: 0) == boundary)
    }

    @Test func hourlyRemindersFollowTheLocalHourInAHalfHourZone() {
        let schedule = ReminderSchedule(intervalSeconds: 3600)
        let offset = 5 * 3600 + 1800  // +05:30
        let now = 1_795_711_397 * second
        let next = schedule.nextBoundary(after: now, utcOffset: offset)
        #expect((next / second + Int64(offset)) % 3600 == 0)
        #expect(next > now && next - now <= 3600 * second)
    }

    @Test func twoSecondIntervalsStayOnTheSecond() {
        let schedule = ReminderSchedule(intervalSeconds: 2)
        var moment = 1_795_711_397 * second + 123
        for _ in 0..<5 {
            let next = schedule.nextBoundary(after: moment, utcOffset: 3600)
            #expect(next % (2 * second) == 0)
            #expect(next - moment <= 2 * second)
            moment = next
        }
    }
}

@Suite struct DurationTextTests {
    @Test(arguments: [
        ("25", 25_000), ("0", 0), ("1.5", 1_500), ("500ms", 500), ("30s", 30_000), ("2m", 120_000), ("1h", 3_600_000), ("0.25s", 250),
    ] as [(String, Int64)])
    func parses(text: String, milliseconds: Int64) {
        #expect(DurationText.milliseconds(from: text) == milliseconds)
    }

    @Test(arguments: ["", "-1", "5x", "ms", "1e3", "s", "1..5", "inf", "nan", " 5", "NaN", "+5", "1e308", "0.0001", "0.4ms", String(repeating: "9", count: 400), "9999999999999999h"])
    func rejects(text: String) {
        #expect(DurationText.milliseconds(from: text) == nil)
    }
}
