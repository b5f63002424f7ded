/// An IPv4 or IPv6 address, read and written by hand rather than by `inet_pton`: the engine has no C
/// library, and the same code parses the socket's peer, the addresses proxies name in their headers and
/// the `--trusted-proxies` list, so all three agree on what an address is.
///
/// An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, how a dual-stack socket shows an IPv4 client) is the
/// IPv4 address: one client is one key however its address was written.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// Which kind of address, and so how many of ``high``/``low``'s bits mean anything.
    public enum Family: Sendable, Hashable { case v4, v6 }

    public let family: Family
    /// The first 64 bits of an IPv6 address; 0 for IPv4.
    let high: UInt64
    /// The last 64 bits of an IPv6 address; an IPv4 address in the low 32 bits.
    let low: UInt64

    init(v4 value: UInt32) {
        family = .v4
        high = 0
        low = UInt64(value)
    }

    init(v6 high: UInt64, _ low: UInt64) {
        if high == 0, low >> 32 == 0xFFFF {
            self.init(v4: UInt32(truncatingIfNeeded: low))
        } else {
            self.init(rawV6: high, low)
        }
    }

    /// The longest text an address can be written in (an IPv6 address with a dotted tail is 45 bytes);
    /// anything longer is refused before it is looked at.
    static let maxTextBytes = 64

    /// Parses a dotted IPv4 address (four decimal parts, no leading zeros, which some parsers read as octal)
    /// or an IPv6 address (RFC 4291 §2.2, with at most one `::` and an optional dotted tail; no zone index).
    public init?(_ text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= Self.maxTextBytes else { return nil }
        if bytes.contains(UInt8(ascii: ":")) {
            guard let (high, low) = Self.parseV6(bytes[...]) else { return nil }
            self.init(v6: high, low)
        } else {
            guard let value = Self.parseV4(bytes[...]) else { return nil }
            self.init(v4: value)
        }
    }

    /// Four decimal parts 0–255 separated by dots.
    static func parseV4(_ bytes: ArraySlice<UInt8>) -> UInt32? {
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                part.count == 1 || part.first != UInt8(ascii: "0")
            else { return nil }
            let number = part.reduce(UInt32(0)) { $0 * 10 + UInt32($1 - UInt8(ascii: "0")) }
            guard number <= 255 else { return nil }
            value = value << 8 | number
        }
        return value
    }

    /// Eight groups of 1–4 hex digits, or fewer around one `::`; the last two groups may be a dotted IPv4 tail.
    static func parseV6(_ bytes: ArraySlice<UInt8>) -> (UInt64, UInt64)? {
        let colon = UInt8(ascii: ":")
        var gap: Int?
        var index = bytes.startIndex
        while index + 1 < bytes.endIndex {
            if bytes[index] == colon, bytes[index + 1] == colon {
                gap = index
                break
            }
            index += 1
        }
        let groups: [UInt16]
        if let gap {
            guard let head = Self.groups(bytes[bytes.startIndex..<gap], dottedTail: false),
                let tail = Self.groups(bytes[(gap + 2)...], dottedTail: true), head.count + tail.count <= 7
            else { return nil }
            groups = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard let all = Self.groups(bytes, dottedTail: true), all.count == 8 else { return nil }
            groups = all
        }
        let high = groups[0..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        let low = groups[4..<8].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        return (high, low)
    }

    /// The groups of one side of a `::` (empty for an empty side); nil if any piece is not a group.
    private static func groups(_ bytes: ArraySlice<UInt8>, dottedTail: Bool) -> [UInt16]? {
        guard !bytes.isEmpty else { return [] }
        let pieces = bytes.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        var groups: [UInt16] = []
        for (position, piece) in pieces.enumerated() {
            if dottedTail, position == pieces.count - 1, piece.contains(UInt8(ascii: ".")) {
                guard let value = parseV4(piece) else { return nil }
                groups += [UInt16(value >> 16), UInt16(value & 0xFFFF)]
                continue
            }
            guard (1...4).contains(piece.count) else { return nil }
            var value: UInt16 = 0
            for byte in piece {
                guard let digit = hexValue(byte) else { return nil }
                value = value << 4 | UInt16(digit)
            }
            groups.append(value)
        }
        return groups.count <= 8 ? groups : nil
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The address in its canonical text (RFC 5952 for IPv6: lower-case hex, the longest run of two or more
    /// zero groups as `::`, the first of equal runs), so one address is always one string in logs and keys.
    public var description: String {
        switch family {
        case .v4:
            let value = UInt32(truncatingIfNeeded: low)
            return "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
        case .v6:
            let groups = (0..<8).map { index -> UInt16 in
                let word = index < 4 ? high : low
                return UInt16(truncatingIfNeeded: word >> (16 * (3 - UInt64(index % 4))))
            }
            var bestStart = -1
            var bestLength = 1
            var index = 0
            while index < 8 {
                guard groups[index] == 0 else {
                    index += 1
                    continue
                }
                var end = index
                while end < 8, groups[end] == 0 { end += 1 }
                if end - index > bestLength {
                    bestStart = index
                    bestLength = end - index
                }
                index = end
            }
            let hex = groups.map { String($0, radix: 16) }
            guard bestStart >= 0 else { return hex.joined(separator: ":") }
            let head = hex[..<bestStart].joined(separator: ":")
            let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
            return head + "::" + tail
        }
    }

    /// The first `bits` bits of the address, the rest zero.
    func masked(to bits: Int) -> IPAddress {
        switch family {
        case .v4:
            let mask: UInt32 = bits <= 0 ? 0 : bits >= 32 ? .max : ~(UInt32.max >> UInt32(bits))
            return IPAddress(v4: UInt32(truncatingIfNeeded: low) & mask)
        case .v6:
            let highMask: UInt64 = bits <= 0 ? 0 : bits >= 64 ? .max : ~(UInt64.max >> UInt64(bits))
            let lowMask: UInt64 = bits <= 64 ? 0 : bits >= 128 ? .max : ~(UInt64.max >> UInt64(bits - 64))
            return IPAddress(rawV6: high & highMask, low & lowMask)
        }
    }

    /// An IPv6 value taken as it is, even in the IPv4-mapped range (a masked prefix, not a client).
    private init(rawV6 high: UInt64, _ low: UInt64) {
        family = .v6
        self.high = high
        self.low = low
    }

    /// The bits an address of this family has: 32 or 128.
    var bitWidth: Int { family == .v4 ? 32 : 128 }
}
