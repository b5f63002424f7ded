import QuenchSystem
import Testing

@testable import EngineIO

@Suite struct LogSafeTests {
    @Test func controlCharactersAreShownNotWritten() {
        #expect(LogSafe.text("x\nwarn forged") == "x\\nwarn forged")
        #expect(LogSafe.text("a\r\tb\u{0}c\u{7f}") == "a\\r\\tb\\x00c\\x7f")
        #expect(LogSafe.text("say \"hi\" \\ bye") == "say \\\"hi\\\" \\\\ bye")
        // C1 controls and the Unicode line separators are escaped too; ordinary text is kept.
        #expect(LogSafe.text("\u{85}\u{2028}é✓") == "\\xc2\\x85\\xe2\\x80\\xa8é✓")
    }

    @Test func invalidUTF8IsEscapedBytewise() {
        #expect(LogSafe.bytes([0x61, 0xFF, 0xC3, 0x28, 0xE2, 0x82]) == "a\\xff\\xc3(\\xe2\\x82")
        #expect(LogSafe.bytes([0xC0, 0xAF]) == "\\xc0\\xaf")  // overlong '/'
    }

    @Test func longTextIsCutAndSaysHowLong() {
        let long = String(repeating: "a", count: 1_000_000)
        let shown = LogSafe.text(long)
        #expect(shown.hasPrefix(String(repeating: "a", count: LogSafe.defaultLimit)))
        #expect(shown.hasSuffix("…(1000000 bytes)"))
        #expect(shown.utf8.count < 130)
        #expect(LogSafe.text("short", limit: 3) == "sho…(5 bytes)")
    }

    @Test func loggerBackstopsLinesThatSlipThrough() {
        let lines = LinesBox()
        let log = Logger(level: .debug) { lines.append($0) }
        log.warn("event=\("x\nerror forged")")
        log.info(String(repeating: "b", count: 100_000))
        log.info("plain \"quoted\" line")
        let written = lines.all
        #expect(written.count == 3)
        #expect(written[0] == "warn event=x\\x0aerror forged\n")
        #expect(written[1].utf8.count < Logger.maxLineBytes + 64)
        #expect(written[1].hasSuffix("…(line of 100000 bytes cut)\n"))
        #expect(written[2] == "info plain \"quoted\" line\n")
        #expect(written.allSatisfy { $0.dropLast().allSatisfy { $0 != "\n" } })
    }
}

/// Collects log lines from a test's logger (its sink may be called from any thread).
final class LinesBox: Sendable {
    private let lines = Lock<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}
