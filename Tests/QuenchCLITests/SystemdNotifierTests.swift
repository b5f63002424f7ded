#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import quench

/// When quench pings systemd's watchdog, decided from the environment as sd_watchdog_enabled(3) does,
/// and which NOTIFY_SOCKET values it accepts.
@Suite struct SystemdNotifierTests {
    private func environment(_ values: [String: String]) -> (String) -> String? { { values[$0] } }

    @Test func watchdogPingsAtHalfTheTimeout() {
        #expect(SystemdNotifier.watchdogPingMilliseconds(environment: environment(["WATCHDOG_USEC": "30000000"])) == 15_000)
        #expect(SystemdNotifier.watchdogPingMilliseconds(environment: environment(["WATCHDOG_USEC": "1000"])) == 1)
    }

    @Test func watchdogOffWithoutAUsableTimeout() {
        for value in [nil, "", "0", "-5", "abc", "99999999999999999999"] {
            let values = value.map { ["WATCHDOG_USEC": $0] } ?? [:]
            #expect(SystemdNotifier.watchdogPingMilliseconds(environment: environment(values)) == nil)
        }
    }

    @Test func watchdogOnlyForItsOwnPID() {
        let mine = String(getpid())
        #expect(SystemdNotifier.watchdogPingMilliseconds(environment: environment(["WATCHDOG_USEC": "2000000", "WATCHDOG_PID": mine])) == 1000)
        #expect(SystemdNotifier.watchdogPingMilliseconds(environment: environment(["WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"])) == nil)
    }

    @Test func notifySocketMustBeAbsoluteOrAbstractAndFit() {
        #expect(SystemdNotifier(environment: environment([:])) == nil)
        #expect(SystemdNotifier(environment: environment(["NOTIFY_SOCKET": ""])) == nil)
        #expect(SystemdNotifier(environment: environment(["NOTIFY_SOCKET": "relative/path"])) == nil)
        #expect(SystemdNotifier(environment: environment(["NOTIFY_SOCKET": "/" + String(repeating: "a", count: 200)])) == nil)
        #expect(SystemdNotifier(environment: environment(["NOTIFY_SOCKET": "/run/systemd/notify"])) != nil)
        #expect(SystemdNotifier(environment: environment(["NOTIFY_SOCKET": "@abstract"])) != nil)
    }
}
