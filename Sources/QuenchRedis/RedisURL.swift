import EngineIO
import QuenchTLSClient

/// A parsed `redis://[[username]:password@]host[:port][/db]` or `rediss://…` (TLS) URL: the forms
/// python-socketio's `RedisManager` and redis-py accept, without Unix sockets or Sentinel.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    /// Host name or IP address (an IPv6 literal without its brackets).
    public var host: String
    /// TCP port; default 6379.
    public var port: Int
    /// ACL user name for `AUTH username password` (Redis 6+); nil sends `AUTH password`.
    public var username: String?
    /// Password for `AUTH`; nil sends no AUTH.
    public var password: String?
    /// Database index for `SELECT`; default 0. (Pub/sub ignores it; python-socketio selects it too.)
    public var database: Int
    /// For `rediss://`: how the server's certificate is checked (the system's CA store and the URL's host
    /// unless set otherwise); nil for plain `redis://`.
    public var tls: TLSClientSession.Settings?

    /// Parses `text`; throws a message fit for the user when it is not a supported Redis URL.
    public init(parsing text: String) throws(RedisURLError) {
        let schemeSeparator = "://"
        guard let schemeEnd = text.firstRange(of: schemeSeparator) else {
            throw RedisURLError("'\(text)' is not a URL; expected redis://[:password@]host[:port][/db]")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "redis" || scheme == "rediss" else {
            throw RedisURLError("unsupported scheme '\(scheme)://' (redis:// or rediss:// for TLS; no sentinel, no unix sockets)")
        }
        var rest = Substring(text[schemeEnd.upperBound...])
        guard !rest.contains("?"), !rest.contains("#") else { throw RedisURLError("query strings and fragments are not supported") }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var hostPort = rest
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            hostPort = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                let user = try Self.percentDecoded(userInfo[..<colon])
                username = user.isEmpty ? nil : user
                password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...])
            } else {
                // redis-py reads a lone user-info part as the user name; Redis then needs no password.
                let user = try Self.percentDecoded(userInfo)
                username = user.isEmpty ? nil : user
            }
        }
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw RedisURLError("unclosed '[' in the host") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw RedisURLError("unexpected text after the IPv6 address") }
                portText = after.dropFirst()
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            portText = hostPort[hostPort.index(after: colon)...]
        } else {
            host = String(hostPort)
        }
        guard !host.isEmpty else { throw RedisURLError("the URL names no host") }
        guard !host.contains(where: { $0 == " " || $0 == "/" || $0 == "@" }) else { throw RedisURLError("bad host '\(host)'") }
        port = 6379
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw RedisURLError("port must be between 1 and 65535, not '\(portText)'")
            }
            port = value
        }
        database = 0
        if !path.isEmpty {
            guard let value = Int(path), value >= 0 else { throw RedisURLError("database must be a number such as /0, not '/\(path)'") }
            database = value
        }
        tls = scheme == "rediss" ? TLSClientSession.Settings(serverName: host) : nil
    }

    /// For `rediss://`: trust the CA certificates in `caFile` instead of the system's store, and expect the
    /// certificate to name `serverName` instead of the URL's host (an IP address, say). Nothing for `redis://`.
    public mutating func verifyTLS(caFile: String?, serverName: String?) {
        if let caFile { tls?.caFile = caFile }
        if let serverName { tls?.serverName = serverName }
    }

    /// Nil when `path` holds CA certificates that load; otherwise why not (checked at start-up).
    public static func problem(withCAFile path: String) -> String? { TLSClientSession.problem(withCAFile: path) }

    /// The URL without its password, for logs.
    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let credentials = password == nil ? (username.map { "\($0)@" } ?? "") : "\(username ?? ""):***@"
        return "\(tls == nil ? "redis" : "rediss")://\(credentials)\(hostPart):\(port)/\(database)"
    }

    private static func percentDecoded(_ text: Substring) throws(RedisURLError) -> String {
        guard let bytes = PercentDecoding.bytes(text, plusIsSpace: false) else {
            throw RedisURLError("bad percent-escape in the user name or password")
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw RedisURLError("the user name or password is not UTF-8 once decoded")
        }
        return decoded
    }
}

/// A `--message-queue` value that is not a usable Redis URL.
public struct RedisURLError: Error, CustomStringConvertible, Equatable {
    /// What is wrong with it.
    public let description: String
    init(_ description: String) { self.description = description }
}
