#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import quench

/// The journal's priority prefixes, and when standard error counts as the journal.
@Suite struct JournalLogTests {
    @Test func eachLevelGetsItsSyslogPriority() {
        #expect(JournalLog.prefixed("error cannot start\n") == "<3>error cannot start\n")
        #expect(JournalLog.prefixed("warn refused peer=1\n") == "<4>warn refused peer=1\n")
        #expect(JournalLog.prefixed("info listening\n") == "<6>info listening\n")
        #expect(JournalLog.prefixed("debug frame\n") == "<7>debug frame\n")
        #expect(JournalLog.prefixed("information\n") == "<5>information\n")
    }

    @Test func onlyTheStreamNamedIsTheJournal() {
        var info = stat()
        #expect(fstat(2, &info) == 0)
        let mine = "\(info.st_dev):\(info.st_ino)"
        #expect(JournalLog.standardErrorIsJournal(environment: { $0 == "JOURNAL_STREAM" ? mine : nil }))
        for other in [nil, "", "\(info.st_dev):\(info.st_ino + 1)", "\(info.st_dev + 1):\(info.st_ino)", "x:y", "\(info.st_dev)", "1:2:3"] {
            #expect(!JournalLog.standardErrorIsJournal(environment: { $0 == "JOURNAL_STREAM" ? other : nil }), "\(other ?? "unset")")
        }
    }
}
