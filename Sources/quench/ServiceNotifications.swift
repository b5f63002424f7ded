import EngineIO
import QuenchLWS

/// What quench tells systemd (``SystemdNotifier``): `READY=1` once the port is bound, `STATUS=` with
/// the session count at start and every ``statusIntervalMilliseconds``, and `WATCHDOG=1` from the
/// service loop itself at half of `WATCHDOG_USEC`, so a loop that stops turning stops the pings and
/// systemd restarts the process. `STOPPING=1` is sent by the signal thread when a stop begins.
enum ServiceNotifications {
    /// How often `STATUS=` is refreshed.
    static let statusIntervalMilliseconds: Int64 = 10_000

    /// After ``LWSServer/start()``, before ``LWSServer/run()``, on the thread that runs it.
    static func start(_ systemd: SystemdNotifier, server: LWSServer, engine: EngineServer) {
        if let period = SystemdNotifier.watchdogPingMilliseconds() {
            server.repeatEvery(milliseconds: period) { _ in systemd.notify("WATCHDOG=1") }
        }
        server.repeatEvery(milliseconds: statusIntervalMilliseconds) { _ in
            systemd.notify("STATUS=\(status(engine))")
        }
        // lws_create_context has bound the listening socket: connections are accepted from here on
        // (served as soon as run() turns the loop).
        systemd.notify("READY=1\nSTATUS=\(status(engine))")
    }

    private static func status(_ engine: EngineServer) -> String {
        "serving \(engine.sessionCount) sessions"
    }
}
