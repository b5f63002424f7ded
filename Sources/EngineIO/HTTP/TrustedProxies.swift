/// The proxies (`--trusted-proxies`) whose word on who their client is, in `X-Forwarded-For` or
/// `Forwarded`, is believed: for a request whose socket peer is one of them, the client is the right-most
/// hop of the header that is not a trusted proxy itself, so per-address limits, log lines and the session's
/// `peer` name the client and not the balancer. From any other peer the headers are ignored: a client
/// could write anything there.
///
/// Which header: `X-Forwarded-For` when the request has one (haproxy's `option forwardfor`, nginx, and
/// most balancers write it), else `Forwarded`. A proxy that writes only `Forwarded` must therefore drop an
/// `X-Forwarded-For` its clients send, as it should drop any header it does not vouch for.
///
/// A hop that is not an address (`unknown`, obfuscated) stops the walk: the nearest address known, a
/// trusted proxy's, is taken, so such requests share that proxy's limits rather than go unlimited.
public struct TrustedProxies: Sendable, Equatable {
    public let networks: [IPNetwork]

    public init(_ networks: [IPNetwork] = []) {
        self.networks = networks
    }

    /// Parses a comma-separated list of CIDRs (`10.0.0.0/8,fd00::/8`); the error names the element.
    public init(parsing text: some StringProtocol) throws(TrustedProxiesError) {
        var networks: [IPNetwork] = []
        for element in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = element.trimmingSpaces
            do {
                networks.append(try IPNetwork(parsing: trimmed))
            } catch {
                throw TrustedProxiesError(element: String(trimmed), problem: error)
            }
        }
        self.init(networks)
    }

    /// No proxy is trusted (the default): every request's client is its socket peer.
    public var isEmpty: Bool { networks.isEmpty }

    /// Whether `address` is one of the proxies.
    public func contains(_ address: IPAddress) -> Bool {
        networks.contains { $0.contains(address) }
    }

    /// Whether the headers of a request from `socketPeer` are read at all (so that the binding reads them
    /// only then).
    public func trusts(socketPeer: String) -> Bool {
        guard !networks.isEmpty, let address = IPAddress(socketPeer) else { return false }
        return contains(address)
    }

    /// The client a request from `socketPeer` is for, as the engine's peer string (canonical text).
    /// - Parameters:
    ///   - socketPeer: the TCP peer's address.
    ///   - xForwardedFor: the `X-Forwarded-For` value, if the request has one.
    ///   - forwarded: the `Forwarded` value, if the request has one.
    public func client(socketPeer: String, xForwardedFor: String?, forwarded: String?) -> String {
        guard !networks.isEmpty, let socket = IPAddress(socketPeer), contains(socket) else { return socketPeer }
        let hops: [ForwardedFor.Hop] =
            if let xForwardedFor { ForwardedFor.xForwardedFor(xForwardedFor) } else if let forwarded { ForwardedFor.forwarded(forwarded) } else { [] }
        var client = socket
        for hop in hops.reversed() {
            guard case .address(let address) = hop else { break }
            client = address
            if !contains(address) { break }
        }
        return client.description
    }
}

/// A `--trusted-proxies` element that is not a CIDR.
public struct TrustedProxiesError: Error, Equatable, CustomStringConvertible {
    public let element: String
    public let problem: IPNetwork.ParseError
    public var description: String { "'\(LogSafe.text(element))': \(problem)" }
}

extension StringProtocol {
    /// Without spaces and tabs at either end.
    fileprivate var trimmingSpaces: SubSequence {
        let isSpace = { (character: Character) in character == " " || character == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return self[endIndex...] }
        return self[first...last]
    }
}
