/// The two headers in which proxies name the client they forward for, read without trusting a byte of
/// them: `X-Forwarded-For` (a comma-separated list of addresses, each proxy appending the one it saw) and
/// `Forwarded` (RFC 7239: comma-separated elements of `name=value` pairs, the client in `for=`).
///
/// Both give the hops in order, the client first and the nearest proxy's peer last. Whether to believe a
/// hop is ``TrustedProxies``' business; here a hop that is not an address (`unknown`, an obfuscated
/// identifier, garbage) is ``Hop/unknown``, never an error, since whatever sits left of the last trusted
/// proxy was written by a stranger.
public enum ForwardedFor {
    /// One hop a header names.
    public enum Hop: Equatable, Sendable {
        case address(IPAddress)
        /// `unknown`, an obfuscated node, an element without `for=`, or text that is not an address.
        case unknown
    }

    /// The hops of an `X-Forwarded-For` value (several header lines arrive joined by commas). An entry may
    /// carry a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`), brackets or quotes, which proxies write in
    /// the wild.
    public static func xForwardedFor(_ value: some StringProtocol) -> [Hop] {
        Array(value.utf8).split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).map { node(trimmed($0)) }
    }

    /// The hops of a `Forwarded` value: one per element, its `for=` parameter (names are case-insensitive,
    /// values a token or a quoted string). An element that breaks the grammar is one unknown hop, and a
    /// quote left open swallows the rest of the value into it.
    public static func forwarded(_ value: some StringProtocol) -> [Hop] {
        let bytes = Array(value.utf8)
        return split(bytes[...], at: UInt8(ascii: ",")).map { element in
            var hop = Hop.unknown
            var seenFor = false
            for pair in split(element, at: UInt8(ascii: ";")) {
                let pair = trimmed(pair)
                if pair.isEmpty { continue }
                guard let equals = pair.firstIndex(of: UInt8(ascii: "=")) else { return .unknown }
                let name = pair[..<equals]
                guard !name.isEmpty, name.allSatisfy(isTokenByte) else { return .unknown }
                guard let text = parameterValue(pair[(equals + 1)...]) else { return .unknown }
                if name.count == 3, name.map({ $0 | 0x20 }) == Array("for".utf8) {
                    guard !seenFor else { return .unknown }  // two clients in one hop: believe neither
                    seenFor = true
                    hop = node(text[...])
                }
            }
            return hop
        }
    }

    /// A node as both headers write it: an IPv4 address, an IPv6 address bare or in brackets, either with
    /// an optional `:port`; quotes around it are taken off.
    static func node(_ raw: ArraySlice<UInt8>) -> Hop {
        var text = raw
        if text.count >= 2, text.first == UInt8(ascii: "\""), text.last == UInt8(ascii: "\"") {
            text = text.dropFirst().dropLast()
        }
        guard !text.isEmpty, text.count <= IPAddress.maxTextBytes + 8 else { return .unknown }
        if text.first == UInt8(ascii: "[") {
            guard let close = text.firstIndex(of: UInt8(ascii: "]")) else { return .unknown }
            let after = text[(close + 1)...]
            guard after.isEmpty || isPort(after) else { return .unknown }
            return address(text[(text.startIndex + 1)..<close])
        }
        let colons = text.count(where: { $0 == UInt8(ascii: ":") })
        if colons == 1, let colon = text.firstIndex(of: UInt8(ascii: ":")) {
            guard isPort(text[colon...]) else { return .unknown }
            return address(text[..<colon])
        }
        return address(text)
    }

    private static func address(_ bytes: ArraySlice<UInt8>) -> Hop {
        guard let address = IPAddress(String(decoding: bytes, as: UTF8.self)) else { return .unknown }
        return .address(address)
    }

    /// `:` and 1–5 digits (RFC 7239 also allows an obfuscated port, which says nothing we use).
    private static func isPort(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard bytes.first == UInt8(ascii: ":") else { return false }
        let digits = bytes.dropFirst()
        return (1...5).contains(digits.count) && digits.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// A parameter's value: a token, or a quoted string with its backslash escapes undone; nil otherwise.
    private static func parameterValue(_ raw: ArraySlice<UInt8>) -> [UInt8]? {
        guard raw.first == UInt8(ascii: "\"") else {
            return !raw.isEmpty && raw.allSatisfy(isTokenByte) ? Array(raw) : nil
        }
        var out: [UInt8] = []
        var index = raw.startIndex + 1
        while index < raw.endIndex {
            let byte = raw[index]
            if byte == UInt8(ascii: "\"") { return index + 1 == raw.endIndex ? out : nil }
            if byte == UInt8(ascii: "\\") {
                index += 1
                guard index < raw.endIndex else { return nil }
            }
            out.append(raw[index])
            index += 1
        }
        return nil
    }

    /// Splits at `separator` outside quoted strings (a backslash inside quotes escapes the next byte).
    private static func split(_ bytes: ArraySlice<UInt8>, at separator: UInt8) -> [ArraySlice<UInt8>] {
        var parts: [ArraySlice<UInt8>] = []
        var start = bytes.startIndex
        var quoted = false
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if quoted, byte == UInt8(ascii: "\\") {
                index += 2
                continue
            }
            if byte == UInt8(ascii: "\"") {
                quoted.toggle()
            } else if !quoted, byte == separator {
                parts.append(bytes[start..<index])
                start = index + 1
            }
            index += 1
        }
        parts.append(bytes[start...])
        return parts
    }

    /// RFC 7230 `tchar`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    /// Without the optional white space (spaces and tabs) around it.
    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else { return [] }
        return bytes[first...last]
    }
}
