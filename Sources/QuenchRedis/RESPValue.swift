/// One RESP2 reply from Redis (https://redis.io/docs/latest/develop/reference/protocol-spec/).
public enum RESPValue: Equatable, Sendable {
    /// `+OK`.
    case simpleString(String)
    /// `-ERR …`.
    case error(String)
    /// `:42`.
    case integer(Int64)
    /// `$3\r\nfoo` — bytes, not necessarily UTF-8.
    case bulkString([UInt8])
    /// `$-1` or `*-1`.
    case null
    /// `*2\r\n…`.
    case array([RESPValue])

    /// The bytes of a bulk or simple string; nil otherwise.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): bytes
        case .simpleString(let text): Array(text.utf8)
        default: nil
        }
    }

    /// The text of a bulk or simple string when it is UTF-8; nil otherwise.
    public var text: String? {
        guard let bytes else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// Encodes Redis commands as RESP arrays of bulk strings (the only form a client sends).
public enum RESPCommand {
    /// `arguments` as one command, e.g. `["PUBLISH", "socketio", payload]`.
    public static func encode(_ arguments: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16 + arguments.reduce(0) { $0 + $1.count + 16 })
        append(arguments, to: &out)
        return out
    }

    /// Appends one command to `out` (pipelining several into one write).
    public static func append(_ arguments: [[UInt8]], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "*"))
        out.append(contentsOf: String(arguments.count).utf8)
        out.append(contentsOf: [13, 10])
        for argument in arguments {
            out.append(UInt8(ascii: "$"))
            out.append(contentsOf: String(argument.count).utf8)
            out.append(contentsOf: [13, 10])
            out.append(contentsOf: argument)
            out.append(contentsOf: [13, 10])
        }
    }

    /// A command of text arguments.
    public static func encode(_ arguments: String...) -> [UInt8] { encode(arguments.map { Array($0.utf8) }) }
}
