#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchSystem

/// Where and how the lws server listens.
public struct LWSServerConfiguration: Sendable {
    /// The address to bind: an IPv4 or IPv6 literal; `0.0.0.0` for every IPv4 interface.
    public var host: String
    /// The TCP port.
    public var port: Int
    /// Whether to listen with SO_REUSEPORT (`--reuse-port`), so that several processes share the port
    /// and the kernel spreads connections among them (``ReusePortListener``).
    public var reusePort = false
    /// PEM certificate and key for https/wss on the same port; nil for plain http/ws.
    public var tls: TLSFiles?
    /// The server's logger; lws's own warnings and errors are routed into it too.
    public var log: Logger
    /// A directory whose files are served for every path outside the engine paths (`--static`);
    /// nil serves ``LWSServer/pageHandler`` instead.
    public var staticDirectory: String?
    /// The most connections (file descriptors) lws may hold before a new client gets HTTP 503: the
    /// open-files limit less headroom, so the server refuses cleanly instead of failing to accept.
    public var maxConnections: Int
    /// The connections at which the server stops accepting (it takes the listening socket out of its poll
    /// set until one closes): the open-files limit less a reserve of 64 descriptors (an eighth of a small
    /// limit) for everything else the process opens, so `accept()` never fails for want of one.
    public var acceptPauseConnections: Int
    /// Seconds a client has to send a request's headers, counted from connecting: lws then closes the
    /// connection (one log line per burst of such closes). A slow sender gains nothing by trickling.
    public var headerTimeoutSeconds = 10
    /// Milliseconds a request body has to arrive in full, counted from the end of its headers: past it
    /// the request is answered 408 and the connection closed, with a log line. (lws also closes a
    /// connection whose body stops for 5 s.)
    public var bodyTimeoutMilliseconds: Int64 = 20_000
    /// Proxies whose `X-Forwarded-For` / `Forwarded` headers name the client (`--trusted-proxies`); none by default.
    public var trustedProxies = TrustedProxies()
    /// The most Engine.IO sessions at once. Polling sessions hold no descriptor between requests, so
    /// they are bounded by memory instead: four per connection slot (a few KiB each).
    public var maxSessions: Int { maxConnections * 4 }

    /// - Parameters:
    ///   - host: bind address; default every IPv4 interface.
    ///   - port: TCP port; default 5000, as the seed app.
    ///   - tls: certificate and key files, or nil for plain HTTP.
    ///   - log: the logger.
    ///   - staticDirectory: a directory to serve files from, or nil.
    public init(
        host: String = "0.0.0.0", port: Int = 5000, tls: TLSFiles? = nil, log: Logger = Logger(), staticDirectory: String? = nil
    ) {
        self.host = host
        self.port = port
        self.tls = tls
        self.log = log
        self.staticDirectory = staticDirectory
        let openFiles = LWSServerConfiguration.openFilesLimit()
        self.maxConnections = max(openFiles - 100, 16)
        self.acceptPauseConnections = max(openFiles - min(64, max(openFiles / 8, 8)), 8)
    }

    /// The open-files limit less 100 descriptors for the listener, lws's own pipes, the refusals
    /// themselves and the log.
    public static func defaultMaxConnections() -> Int { max(openFilesLimit() - 100, 16) }

    /// The soft open-files limit (capped at a million; 1100 if it cannot be read).
    static func openFilesLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1100 }
        return Int(min(limit.rlim_cur, 1_000_000))
    }
}

/// A PEM certificate (chain) and its private key.
public struct TLSFiles: Sendable, Equatable {
    public var certificate: String
    public var privateKey: String
    public init(certificate: String, privateKey: String) {
        self.certificate = certificate
        self.privateKey = privateKey
    }
}

/// Why the server could not start. Each says what to do about it in one line.
public struct LWSServerError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
