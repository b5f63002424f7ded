/// A block of addresses in CIDR notation (`10.0.0.0/8`, `fd00::/8`; a bare address is its own /32 or /128),
/// as `--trusted-proxies` lists them.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    /// The first address of the block: its prefix, the rest zero.
    public let prefix: IPAddress
    /// How many leading bits every address of the block shares with ``prefix``.
    public let bits: Int

    /// Why a CIDR was not taken, for the CLI's error line.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case notAnAddress
        case badPrefixLength(max: Int)
        /// The address has bits set past the prefix (`10.0.0.1/8`): a typo more often than not, so it is named
        /// with the block it would mean rather than silently widened.
        case hostBitsSet(meant: String)

        public var description: String {
            switch self {
            case .notAnAddress: "not an IPv4 or IPv6 address"
            case .badPrefixLength(let max): "the prefix length must be a number from 0 to \(max)"
            case .hostBitsSet(let meant): "bits are set past the prefix length (did you mean \(meant)?)"
            }
        }
    }

    /// Parses `address/bits` or a bare address.
    public init(parsing text: some StringProtocol) throws(ParseError) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { throw .notAnAddress }
        var bits = address.bitWidth
        if parts.count == 2 {
            let digits = parts[1]
            guard (1...3).contains(digits.utf8.count), digits.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                let value = Int(digits), value <= address.bitWidth
            else { throw .badPrefixLength(max: address.bitWidth) }
            bits = value
        }
        let prefix = address.masked(to: bits)
        guard prefix == address else { throw .hostBitsSet(meant: "\(prefix)/\(bits)") }
        self.prefix = prefix
        self.bits = bits
    }

    /// Whether `address` is in the block (an IPv4 address is never in an IPv6 block, nor the reverse).
    public func contains(_ address: IPAddress) -> Bool {
        address.family == prefix.family && address.masked(to: bits) == prefix
    }

    public var description: String { "\(prefix)/\(bits)" }
}
