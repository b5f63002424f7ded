#if canImport(Glibc)
import Glibc
#endif
import CCrypt

/// Checks a password against a crypt(3) hash with the system's `crypt_r` (libxcrypt, which knows bcrypt's
/// `$2b$`/`$2y$`/`$2a$`), so no hashing is written here. Any thread; `crypt_r` keeps its state in the
/// caller's buffer.
public enum PasswordHash {
    /// Whether `hash` is a bcrypt hash crypt_r can check: `$2b$`, `$2y$` or `$2a$`, a two-digit cost from 04
    /// to 31, `$`, then 53 characters of salt and digest.
    public static func isBcrypt(_ hash: String) -> Bool {
        let bytes = Array(hash.utf8)
        guard bytes.count == 60, bytes[0] == UInt8(ascii: "$"), bytes[1] == UInt8(ascii: "2"), bytes[3] == UInt8(ascii: "$"),
            bytes[6] == UInt8(ascii: "$"), [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(bytes[2])
        else { return false }
        guard let cost = Int(String(decoding: bytes[4..<6], as: UTF8.self)), (4...31).contains(cost) else { return false }
        return bytes[7...].allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "/")
        }
    }

    /// Whether `password` hashes to `hash`. False for a hash crypt_r refuses (its answer starts with `*`) and
    /// for a password holding a NUL byte (C would cut it short).
    public static func matches(_ password: String, hash: String) -> Bool {
        guard !password.utf8.contains(0) else { return false }
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer {
            // The buffer held the hash of a password: cleared before it is let go of.
            memset(data, 0, MemoryLayout<crypt_data>.size)
            data.deallocate()
        }
        memset(data, 0, MemoryLayout<crypt_data>.size)
        guard let result = crypt_r(password, hash, data) else { return false }
        let computed = String(cString: result)
        guard !computed.hasPrefix("*"), computed.utf8.count == hash.utf8.count else { return false }
        // Compared in full whatever the first difference, so the time taken says nothing of where it is.
        var difference: UInt8 = 0
        for (a, b) in zip(computed.utf8, hash.utf8) { difference |= a ^ b }
        return difference == 0
    }
}
