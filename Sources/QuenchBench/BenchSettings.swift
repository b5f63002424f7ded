/// What one quench-bench run does, whichever transport carries it: the CLI's flags after validation.
struct BenchSettings {
    /// What the clients do once connected.
    enum Mode: String, CaseIterable {
        /// Every client keeps one `user_message` in flight; each `bot_message` is checked and timed.
        case rtt
        /// Clients connect and stay, answering pings: memory per session and drops.
        case idle
        /// Clients stay and time each reminder against its wall-clock boundary.
        case fanout
    }

    /// How the clients reach the server.
    enum Transport: String, CaseIterable {
        /// One WebSocket per client, driven by an lws client context (`BenchClient`).
        case websocket
        /// Engine.IO HTTP long-polling: two keep-alive HTTP/1.1 connections per client (`PollingClient`).
        case polling
    }

    /// Host name or address literal of the server, as in the URL (an IPv6 literal keeps its brackets,
    /// which the Host header needs).
    var host: String
    /// TCP port of the server.
    var port: Int
    /// The Socket.IO endpoint's path, with its trailing slash (`/socket.io/`).
    var path: String
    /// Number of simulated clients.
    var clients: Int
    /// Length of the measured window, which opens once every client is connected (or has failed).
    var durationSeconds: Double
    var mode: Mode
    var transport: Transport
    /// For fanout: the server's reminder interval, so boundaries can be computed here.
    var reminderIntervalSeconds: Int64
    /// How long to wait for every client before measuring with those that did connect.
    var connectTimeoutSeconds: Double = 30
    /// For rtt over WebSocket: how long a client waits after each reply before its next message (0: at once).
    /// Paced clients leave the server idle between messages, so a stall (a fan-out) shows in their latency.
    var thinkMilliseconds: Int = 0
    /// Socket.IO packets in socket.io-msgpack-parser's form (a server started with `--parser msgpack`);
    /// WebSocket only.
    var msgpack = false
    /// WebSocket over TLS (wss://), the server's certificate taken as it is: the bench measures the cost of
    /// the encryption, not of trust.
    var tls = false

    /// Replies in flight at any moment this long after a reminder boundary count as sent during the fan-out.
    static let fanoutWindowNanoseconds: Int64 = 1_000_000_000

    /// `host` without the brackets of an IPv6 literal: what resolvers and lws want.
    var bareHost: String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }
}
