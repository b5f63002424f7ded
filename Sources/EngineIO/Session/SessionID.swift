/// Session ids: 15 bytes from the system CSPRNG, written as 20 URL-safe base64 characters.
///
/// 120 bits make a sid unguessable, which matters: the sid is the only credential a polling request carries.
public enum SessionID {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

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
