/// Where the RabbitMQ (AMQP 0-9-1) broker is: `amqp[s]://[user[:password]@]host[:port][/vhost]`, read as Kombu
/// reads it, so the URL a python-socketio `KombuManager` is given works here unchanged: user and password
/// default to `guest`, the port to 5672 (5671 for `amqps://`, TLS), and a missing or empty path (`amqp://host`, `amqp://host/`) or
/// `//` is the virtual host `/`; anything else after the first `/` is the vhost, percent-decoded (`%2F`).
public struct AMQPURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    /// nil: none was given (the login then uses `guest`, as Kombu does).
    public var password: String?
    public var virtualHost: String
    /// For `amqps://`: how the broker's certificate is verified; nil for `amqp://`.
    public var tls: TLS?

    /// The certificate check of an `amqps://` connection.
    public struct TLS: Sendable, Equatable {
        /// PEM file of the CA certificates to trust; nil: the system's store.
        public var caFile: String?
        /// The name (or IP address) the certificate must carry; the URL's host unless set.
        public var serverName: String
    }

    public init(parsing text: String) throws(AMQPURLError) {
        guard let schemeEnd = text.firstRange(of: "://") else { throw AMQPURLError("expected amqp://host[:port][/vhost]") }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "amqp" || scheme == "amqps" else { throw AMQPURLError("the scheme must be amqp:// or amqps://, not \(scheme)://") }
        var rest = Substring(text[schemeEnd.upperBound...])
        var path: Substring?
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        guard !rest.contains("?"), !rest.contains("#"), !(path ?? "").contains("?"), !(path ?? "").contains("#") else {
            throw AMQPURLError("query strings and fragments are not supported")
        }
        var hostPort = rest
        username = "guest"
        password = nil
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            hostPort = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                username = try Self.percentDecoded(userInfo[..<colon])
                password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...])
            } else {
                username = try Self.percentDecoded(userInfo)
            }
            if username.isEmpty { username = "guest" }
        }
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw AMQPURLError("unclosed '[' in the host") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { throw AMQPURLError("unexpected text after the host") }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            portText = hostPort[hostPort.index(after: colon)...]
        } else {
            host = String(hostPort)
        }
        guard !host.isEmpty else { throw AMQPURLError("the host is missing") }
        guard host.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else { throw AMQPURLError("the host has spaces or control characters") }
        port = scheme == "amqps" ? 5671 : 5672
        tls = scheme == "amqps" ? TLS(caFile: nil, serverName: host) : nil
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else { throw AMQPURLError("the port must be 1-65535, not '\(portText)'") }
            port = value
        }
        let vhost = try Self.percentDecoded(path ?? "")
        virtualHost = vhost.isEmpty ? "/" : vhost
        guard !virtualHost.utf8.contains(0), !username.utf8.contains(0), !(password ?? "").utf8.contains(0) else {
            throw AMQPURLError("the URL holds a NUL byte")
        }
    }

    /// The URL without the password, for logs.
    public var description: String {
        let vhost = virtualHost == "/" ? "" : virtualHost
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(tls == nil ? "amqp" : "amqps")://\(username)@\(shownHost):\(port)/\(vhost)"
    }

    /// Sets the certificate check of an `amqps://` URL (`--message-queue-ca`, `--message-queue-tls-host`).
    public mutating func verifyTLS(caFile: String?, serverName: String?) {
        if let caFile { tls?.caFile = caFile }
        if let serverName { tls?.serverName = serverName }
    }

    private static func percentDecoded(_ text: Substring) throws(AMQPURLError) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard iterator.count >= 2, let high = hex(iterator.popFirst()!), let low = hex(iterator.popFirst()!) else {
                throw AMQPURLError("a '%' must be followed by two hex digits")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else { throw AMQPURLError("the URL decodes to bytes that are not UTF-8") }
        return decoded
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Why an `amqp://` URL was refused.
public struct AMQPURLError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ description: String) { self.description = description }
}
