#if canImport(Glibc)
import Glibc
#endif

/// Overwrites the password of a `redis://` or `amqp://` URL on quench's own command line with `*`, so that `ps` and
/// `/proc/PID/cmdline` stop showing it once quench has started (as redis-server does for its own secrets).
/// It cannot cover the moment between exec and this call, nor the shell's history: the documented way to
/// give a password is `--message-queue-password-file` or `QUENCH_MESSAGE_QUEUE_PASSWORD`.
enum CommandLinePassword {
    /// Masks every password found in the process's arguments, in place; returns how many were masked.
    @discardableResult
    static func hide() -> Int {
        var masked = 0
        for index in 1..<Int(CommandLine.argc) {
            guard let argument = CommandLine.unsafeArgv[index] else { continue }
            let bytes = UnsafeMutableRawPointer(argument).assumingMemoryBound(to: UInt8.self)
            let buffer = UnsafeMutableBufferPointer(start: bytes, count: strlen(argument))
            guard let range = passwordRange(in: buffer) else { continue }
            for position in range { buffer[position] = UInt8(ascii: "*") }
            masked += 1
        }
        return masked
    }

    /// Where the password of a `redis://`, `rediss://` or `amqp://` URL lies in `argument` (the URL alone, or after
    /// `--message-queue=`): the bytes after the first `:` of the user information; nil when there is none.
    static func passwordRange(in argument: UnsafeMutableBufferPointer<UInt8>) -> Range<Int>? {
        passwordRange(in: Array(argument))
    }

    /// The same, on a copy of the bytes (for tests).
    static func passwordRange(in bytes: [UInt8]) -> Range<Int>? {
        let separator = Array("://".utf8)
        guard let schemeEnd = firstIndex(of: separator, in: bytes) else { return nil }
        let scheme = String(decoding: bytes[..<schemeEnd], as: UTF8.self).lowercased()
        guard scheme.hasSuffix("redis") || scheme.hasSuffix("rediss") || scheme.hasSuffix("amqp") || scheme.hasSuffix("amqps") else { return nil }
        let authorityStart = schemeEnd + separator.count
        let authorityEnd = bytes[authorityStart...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? bytes.count
        guard let at = bytes[authorityStart..<authorityEnd].lastIndex(of: UInt8(ascii: "@")),
            let colon = bytes[authorityStart..<at].firstIndex(of: UInt8(ascii: ":")), colon + 1 < at
        else { return nil }
        return (colon + 1)..<at
    }

    private static func firstIndex(of needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        for start in 0...(bytes.count - needle.count) where bytes[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }
}
