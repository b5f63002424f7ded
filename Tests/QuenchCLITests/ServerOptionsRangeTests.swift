import ArgumentParser
import EngineIO
import Testing

@testable import quench

/// Every numeric flag fed its extremes: each is refused with exit status 64 and a message naming the
/// flag, or accepted inside its documented range. None may reach arithmetic that traps.
@Suite struct ServerOptionsRangeTests {
    /// Values no numeric flag accepts: signs, huge numbers, overflow in every duration unit, not-numbers.
    static let extremes = [
        "-1", "-0.5", "9223372036854775807", "9223372036854775808", "18446744073709551616", "1e308", "1e-308",
        "3000000000h", "3000000h", "99999999999999999999ms", "999999999999999999s", "99999999999999999m", "9999999999999999h",
        String(repeating: "9", count: 400), "NaN", "nan", "inf", "-inf", "", " ", "0x10", "1,000",
    ]
    static let numericFlags = ["--port", "--max-payload", "--max-buffered", "--ping-interval", "--ping-timeout", "--reminder-interval", "--drain-time", "--recovery-window", "--recovery-log-bytes",
        "--max-sessions-per-address", "--handshake-rate", "--handshake-burst",
    ]

    /// The outcome of parsing `arguments`: the options, or the exit code and message a user would see.
    private func parse(_ arguments: [String]) -> Result<ServerOptions, Refusal> {
        do {
            return .success(try ServerOptions.parse(arguments))
        } catch {
            return .failure(Refusal(code: ServerOptions.exitCode(for: error).rawValue, message: ServerOptions.message(for: error)))
        }
    }

    struct Refusal: Error {
        let code: Int32
        let message: String
    }

    private func expectRefused(_ flag: String, _ value: String, sourceLocation: SourceLocation = #_sourceLocation) {
        switch parse([flag, value]) {
        case .success(let options):
            Issue.record("\(flag) \(value) was accepted: \(options)", sourceLocation: sourceLocation)
        case .failure(let refusal):
            #expect(refusal.code == 64, "\(flag) \(value): exit \(refusal.code)", sourceLocation: sourceLocation)
            #expect(refusal.message.contains(flag), "\(flag) \(value): message does not name the flag: \(refusal.message)", sourceLocation: sourceLocation)
        }
    }

    private func accepted(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) -> ServerOptions? {
        switch parse(arguments) {
        case .success(let options): return options
        case .failure(let refusal):
            Issue.record("\(arguments) refused (\(refusal.code)): \(refusal.message)", sourceLocation: sourceLocation)
            return nil
        }
    }

    @Test(arguments: numericFlags)
    func extremesAreRefusedNamingTheFlag(flag: String) {
        for value in Self.extremes { expectRefused(flag, value) }
    }

    @Test func zeroIsRefusedExceptForTheReminderWhereItMeansOff() {
        for flag in ["--port", "--max-payload", "--max-buffered", "--ping-interval", "--ping-timeout"] {
            for zero in ["0", "0.0", "0ms", "0s", "0m", "0h"] where flag.hasPrefix("--ping") || !zero.contains(where: \.isLetter) && zero != "0.0" {
                expectRefused(flag, zero)
            }
        }
        #expect(accepted(["--reminder-interval", "0"])?.reminderInterval.milliseconds == 0)
        // A positive value that rounds to 0 ms is not "off".
        expectRefused("--reminder-interval", "0.0001")
        expectRefused("--ping-interval", "0.0001")
    }

    @Test func portRange() {
        #expect(accepted(["--port", "1"])?.port == 1)
        #expect(accepted(["--port", "65535"])?.port == 65535)
        expectRefused("--port", "65536")
    }

    @Test func maxPayloadRange() {
        #expect(accepted(["--max-payload", "1"])?.maxPayload == 1)
        #expect(accepted(["--max-payload", "1000000000"])?.maxPayload == 1_000_000_000)
        expectRefused("--max-payload", "1000000001")
    }

    @Test func maxBufferedRange() {
        #expect(accepted([])?.effectiveMaxBuffered == 16_777_216)
        #expect(accepted(["--max-buffered", "1000000"])?.effectiveMaxBuffered == 1_000_000)
        #expect(accepted(["--max-buffered", "4294967296"])?.effectiveMaxBuffered == 4_294_967_296)
        expectRefused("--max-buffered", "4294967297")
        expectRefused("--max-buffered", "999999")  // below --max-payload (1000000 by default)
        #expect(accepted(["--max-payload", "10", "--max-buffered", "10"])?.effectiveMaxBuffered == 10)
        // Without the flag it follows a larger --max-payload, so the largest message always fits.
        #expect(accepted(["--max-payload", "1000000000"])?.effectiveMaxBuffered == 1_000_000_000)
    }

    @Test(arguments: ["--ping-interval", "--ping-timeout"])
    func heartbeatRange(flag: String) {
        let field: KeyPath<ServerOptions, DurationArgument> = flag == "--ping-interval" ? \.pingInterval : \.pingTimeout
        #expect(accepted([flag, "1ms"])?[keyPath: field].milliseconds == 1)
        #expect(accepted([flag, "24h"])?[keyPath: field].milliseconds == 86_400_000)
        #expect(accepted([flag, "86400"])?[keyPath: field].milliseconds == 86_400_000)
        expectRefused(flag, "86400001ms")
        expectRefused(flag, "1441m")
        expectRefused(flag, "25h")
        expectRefused(flag, "0.4ms")
    }

    @Test func reminderRange() {
        #expect(accepted(["--reminder-interval", "1"])?.reminderInterval.milliseconds == 1000)
        #expect(accepted(["--reminder-interval", "24h"])?.reminderInterval.milliseconds == 86_400_000)
        expectRefused("--reminder-interval", "86401")
        expectRefused("--reminder-interval", "25h")
        expectRefused("--reminder-interval", "1.5")
        expectRefused("--reminder-interval", "500ms")
    }

    @Test func drainTimeRange() {
        #expect(accepted([])?.drainTime.milliseconds == 0)
        #expect(accepted(["--drain-time", "0"])?.drainTime.milliseconds == 0)
        #expect(accepted(["--drain-time", "500ms"])?.drainTime.milliseconds == 500)
        #expect(accepted(["--drain-time", "5m"])?.drainTime.milliseconds == 300_000)
        expectRefused("--drain-time", "301s")
        expectRefused("--drain-time", "1h")
    }

    @Test func recoveryWindowRange() {
        #expect(accepted([])?.recoveryWindow.milliseconds == 0)
        #expect(accepted([])?.socketIOConfiguration.recoveryWindow == 0)
        #expect(accepted(["--recovery-window", "0"])?.recoveryWindow.milliseconds == 0)
        #expect(accepted(["--recovery-window", "1ms"])?.recoveryWindow.milliseconds == 1)
        #expect(accepted(["--recovery-window", "2m"])?.socketIOConfiguration.recoveryWindow == 120_000)
        #expect(accepted(["--recovery-window", "24h"])?.recoveryWindow.milliseconds == 86_400_000)
        expectRefused("--recovery-window", "86400001ms")
        expectRefused("--recovery-window", "25h")
    }

    @Test func parserChoice() {
        #expect(accepted([])?.socketIOConfiguration.parser == .json)
        #expect(accepted(["--parser", "msgpack"])?.socketIOConfiguration.parser == .msgpack)
        #expect(accepted(["--parser", "json"])?.socketIOConfiguration.parser == .json)
        expectRefused("--parser", "MsgPack")
        expectRefused("--parser", "")
    }

    @Test func recoveryLogBytesRange() {
        #expect(accepted([])?.socketIOConfiguration.recoveryLogBytes == 16_777_216)
        #expect(accepted(["--recovery-log-bytes", "65536"])?.recoveryLogBytes == 65_536)
        #expect(accepted(["--recovery-log-bytes", "4294967296"])?.socketIOConfiguration.recoveryLogBytes == 4_294_967_296)
        expectRefused("--recovery-log-bytes", "65535")
        expectRefused("--recovery-log-bytes", "4294967297")
        expectRefused("--recovery-log-bytes", "0")
    }

    @Test func perAddressRanges() {
        let defaults = accepted([])?.engineConfiguration.addressLimits
        #expect(defaults == AddressLimitConfiguration(maxSessions: 5000, handshakesPerSecond: 100, handshakeBurst: 1000))
        let set = accepted(["--max-sessions-per-address", "1", "--handshake-rate", "1000000", "--handshake-burst", "7"])?.engineConfiguration.addressLimits
        #expect(set?.maxSessions == 1 && set?.handshakesPerSecond == 1_000_000 && set?.handshakeBurst == 7)
        for flag in ["--max-sessions-per-address", "--handshake-rate", "--handshake-burst"] {
            expectRefused(flag, "0")
            expectRefused(flag, "1000001")
        }
    }

    @Test func trustedProxiesAreCIDRs() {
        #expect(accepted([])?.proxies.isEmpty == true)
        #expect(accepted(["--trusted-proxies", "127.0.0.1,10.0.0.0/8,fd00::/8"])?.proxies.networks.count == 3)
        for bad in ["", "10.0.0.1/8", "10.0.0.0/33", "example.com", "10.0.0.0/8,", "::/129", "1.2.3.4\n"] {
            expectRefused("--trusted-proxies", bad)
        }
        guard case .failure(let refusal) = parse(["--trusted-proxies", "10.0.0.1/8"]) else { return }
        #expect(refusal.message.contains("did you mean 10.0.0.0/8?"), "\(refusal.message)")
    }

    @Test func theRefusalShowsTheValueEscaped() {
        guard case .failure(let refusal) = parse(["--ping-interval", "3000000000h"]) else {
            Issue.record("3000000000h accepted")
            return
        }
        #expect(refusal.message.contains("--ping-interval must be between 1ms and 24h, not 3000000000h"), "\(refusal.message)")
    }

    @Test func pathRange() {
        #expect(accepted(["--path", "/chat/"])?.path == "/chat/")
        #expect(accepted(["--path", "/a"])?.path == "/a")
        #expect(accepted(["--path", "/" + String(repeating: "p", count: 126) + "/"]) != nil)
        for bad in [
            "/" + String(repeating: "p", count: 127) + "/", "/" + String(repeating: "p", count: 300) + "/", "", "chat", "/a b/", "/a?b",
            "/a%2Fb/", "//", "/a//b/", "/./", "/a/../b/", "/a\nb/", "/\u{e9}/", "/a#b", "/a\"b",
        ] {
            expectRefused("--path", bad)
        }
    }

    @Test func channelRange() {
        #expect(accepted(["--channel", String(repeating: "c", count: 256)]) != nil)
        for bad in ["", String(repeating: "c", count: 257), "a b", "a\nb", "a\u{7f}"] { expectRefused("--channel", bad) }
    }
}
