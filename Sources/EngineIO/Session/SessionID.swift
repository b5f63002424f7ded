/// Session ids: 15 bytes from the system CSPRNG, written as 20 URL-safe base64 characters.
///
/// 120 bits make a sid unguessable, which matters: the sid is the only credential a polling request carries.
public enum SessionID {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// The length of a node tag: the lowercase hex digits a clustered node puts in front of its sids.
    public static let nodeTagLength = 12

    /// A fresh sid that names its node: `tag` (``nodeTagLength`` lowercase hex digits) then 20 random
    /// characters. Any node that receives a request for it knows where the session lives without asking
    /// anyone; the random part stays the credential.
    public static func make(nodeTag tag: String) -> String {
        tag + make()
    }

    /// The node tag a sid begins with, when it is one ``make(nodeTag:)`` made; nil for a plain sid (a node
    /// without a cluster link, or a python-socketio node).
    public static func nodeTag(of sid: String) -> Substring? {
        let bytes = sid.utf8
        guard bytes.count == nodeTagLength + 20 else { return nil }
        let tag = sid.utf8.prefix(nodeTagLength)
        guard tag.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else { return nil }
        // The rest must be what ``make()`` writes too: such a sid reaches log lines as it is.
        guard bytes.dropFirst(nodeTagLength).allSatisfy({ alphabet.contains($0) }) else { return nil }
        return Substring(tag)
    }

    /// Whether `text` is a node tag (``nodeTagLength`` lowercase hex digits).
    public static func isNodeTag(_ text: some StringProtocol) -> Bool {
        text.utf8.count == nodeTagLength && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// A fresh random sid. `SystemRandomNumberGenerator` reads the kernel's CSPRNG (getrandom on Linux).
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        var bits = (generator.next() as UInt64, generator.next() as UInt64)
        var chars = [UInt8]()
        chars.reserveCapacity(20)
        for index in 0..<20 {
            let word = index < 10 ? bits.0 : bits.1
            chars.append(alphabet[Int(word & 0x3F)])
            if index < 10 { bits.0 >>= 6 } else { bits.1 >>= 6 }
        }
        return String(decoding: chars, as: UTF8.self)
    }
}
