import EngineIO

/// How the Socket.IO Admin UI's server side is served (`--admin` and its options). One per process.
public struct AdminConfiguration: Sendable {
    /// Who may log in: nobody is asked (`--admin-auth none`, explicit only), or one user whose password
    /// must match a bcrypt hash.
    public enum Authentication: Sendable, Equatable {
        case none
        case basic(username: String, bcryptHash: String)
    }

    /// The namespace the UI connects to; default `/admin`.
    public var namespace: String
    public var authentication: Authentication
    /// Advertise no actions and refuse them if sent anyway; default false.
    public var readOnly: Bool
    /// `event_received`/`event_sent` reported per second at most, for this node; past it they are counted,
    /// not sent. 0 turns that feed off (the UI is told so: no `ALL_EVENTS`). Default 50.
    public var eventsPerSecond: Int
    /// `server_stats` period in milliseconds; default the reference's 2000.
    public var statsInterval: Int64
    /// Shown as the server's id in the UI (each node needs its own); default the host name.
    public var serverID: String
    public var hostname: String
    public var pid: Int
    /// Whether clients reach the server over TLS (the handshake's `secure`).
    public var secure: Bool
    /// The Engine.IO path, shown as the handshake's `url`.
    public var path: String

    /// - Parameters:
    ///   - namespace: the UI's namespace; default `/admin`.
    ///   - authentication: `.none` or one user and a bcrypt hash.
    ///   - readOnly: no actions; default false.
    ///   - eventsPerSecond: the event feed's bound; default 50, 0 for none.
    ///   - statsInterval: milliseconds between `server_stats`; default 2000.
    ///   - serverID: the node's id in the UI; default the host name.
    ///   - hostname: the host name; default "localhost".
    ///   - pid: the process id; default 0.
    ///   - secure: TLS; default false.
    ///   - path: the Engine.IO path; default `/socket.io/`.
    public init(
        namespace: String = "/admin", authentication: Authentication, readOnly: Bool = false, eventsPerSecond: Int = 50,
        statsInterval: Int64 = 2000, serverID: String? = nil, hostname: String = "localhost", pid: Int = 0, secure: Bool = false,
        path: String = "/socket.io/"
    ) {
        self.namespace = namespace
        self.authentication = authentication
        self.readOnly = readOnly
        self.eventsPerSecond = max(eventsPerSecond, 0)
        self.statsInterval = max(statsInterval, 100)
        self.serverID = serverID ?? hostname
        self.hostname = hostname
        self.pid = pid
        self.secure = secure
        self.path = path
    }

    /// The features the UI is told of (`config.supportedFeatures`): the actions unless read-only, the
    /// aggregated counts always, every event only while that feed is on.
    var supportedFeatures: [String] {
        var features = readOnly ? [] : ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT"]
        features.append("AGGREGATED_EVENTS")
        if eventsPerSecond > 0 { features.append("ALL_EVENTS") }
        return features
    }
}
