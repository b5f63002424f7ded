#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import SocketIO

/// `{"method":"quench_link","host_id":…,"tag":…,"address":"HOST:PORT","token":…}` on the shared channel:
/// where a node with `--node-link` listens for the other quench nodes and the token they must name. Sent
/// once subscribed and every ``LinkPeers/announceEvery`` ms after. python-socketio skips methods it does not
/// know (its `_thread` dispatches on known names only); quench nodes without `--node-link` skip it quietly.
/// Whoever reads the channel may connect: Redis (or the broker) is the trust boundary, as for everything else on it.
package struct LinkAnnouncement: Equatable, Sendable {
    static let tokenHexLength = 64
    package var tag: String
    package var address: LinkAddress
    /// 64 lowercase hex digits.
    package var token: String

    package init(tag: String, address: LinkAddress, token: String) {
        self.tag = tag
        self.address = address
        self.token = token
    }

    private static let prefix = Array(#"{"method":"quench_link""#.utf8)

    package func encode(hostID: String) -> [UInt8] {
        JSONWriter.encode(
            .object([
                "method": "quench_link", "host_id": .string(hostID), "tag": .string(tag), "address": .string(address.description), "token": .string(token),
            ]))
    }

    /// Whether `bytes` is an announcement (as quench writes them: the method first), not something for python-socketio's decoder.
    package static func isAnnouncement(_ bytes: [UInt8]) -> Bool { bytes.starts(with: prefix) }

    /// Decodes strictly: a 12-hex tag, a numeric address and port, a 64-hex token.
    package static func decode(_ bytes: [UInt8]) throws(PubSubMessageError) -> LinkAnnouncement {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw PubSubMessageError("quench_link: not JSON") }
        guard value["method"]?.stringValue == "quench_link" else { throw PubSubMessageError("not quench_link") }
        guard let tag = value["tag"]?.stringValue, SessionID.isNodeTag(tag) else {
            throw PubSubMessageError("quench_link: \"tag\" is not 12 hex digits")
        }
        guard let text = value["address"]?.stringValue, let address = LinkAddress(parsing: text, allowNames: false) else {
            throw PubSubMessageError("quench_link: \"address\" is not a numeric HOST:PORT")
        }
        guard let token = value["token"]?.stringValue, token.utf8.count == tokenHexLength, isHex(Array(token.utf8)) else {
            throw PubSubMessageError("quench_link: \"token\" is not 64 hex digits")
        }
        return LinkAnnouncement(tag: tag, address: address, token: token)
    }

    /// Lowercase hex digits only.
    static func isHex(_ bytes: [UInt8]) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }
}

/// `--node-link`'s HOST:PORT: an IPv4 address, an IPv6 one in brackets, or (on the command line only) a name.
package struct LinkAddress: Equatable, Sendable, CustomStringConvertible {
    package var host: String
    package var port: Int

    package init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Nil when `text` is not HOST:PORT with a port of 1 to 65535, or when HOST is not numeric and
    /// `allowNames` is false.
    package init?(parsing text: String, allowNames: Bool) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard Self.isNumeric(String(host), family: AF_INET6) else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !host.contains(":"), !host.isEmpty else { return nil }
            if !Self.isNumeric(String(host), family: AF_INET) {
                guard allowNames, host.utf8.count <= 253, host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }) else { return nil }
            }
        }
        guard portText.utf8.count <= 5, portText.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), let port = Int(portText),
            (1...65_535).contains(port)
        else { return nil }
        self.host = String(host)
        self.port = port
    }

    /// 0.0.0.0 or ::, which another node cannot connect to.
    package var isUnspecified: Bool {
        if Self.isNumeric(host, family: AF_INET) { return host.split(separator: ".").allSatisfy { Int($0) == 0 } }
        var address = in6_addr()
        guard inet_pton(AF_INET6, host, &address) == 1 else { return false }
        return withUnsafeBytes(of: address) { $0.allSatisfy { $0 == 0 } }
    }

    package var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    static func isNumeric(_ host: String, family: Int32) -> Bool {
        var buffer = in6_addr()
        return inet_pton(family, host, &buffer) == 1
    }
}
