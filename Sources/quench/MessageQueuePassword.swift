#if canImport(Glibc)
import Glibc
#endif
import EngineIO

/// Where the message queue's password comes from: `--message-queue-password-file`, the environment variable
/// ``environmentVariable``, or the `--message-queue` URL itself — at most one of them. The file and the
/// environment keep it out of the command line, which any user on the machine can read (`ps`,
/// `/proc/PID/cmdline`); a password left in the URL is overwritten there once quench has started (see
/// ``CommandLinePassword``), which does not cover the moment before, or the shell's history.
enum MessageQueuePassword {
    /// The environment variable a service manager sets (`/etc/default/quench`, or `Environment=` in a
    /// unit override). Empty counts as unset.
    static let environmentVariable = "QUENCH_MESSAGE_QUEUE_PASSWORD"
    /// The largest password file read, in bytes (it should hold a password and perhaps a newline).
    static let maxFileBytes = 65_536

    /// `url` with the password from whichever source gives one.
    /// - Parameters:
    ///   - url: the parsed `--message-queue`.
    ///   - file: `--message-queue-password-file`, when given.
    ///   - environment: the value of ``environmentVariable``, when set and not empty.
    /// - Throws: a message naming the flags when two sources give a password, or the file cannot be used.
    static func resolve(_ url: MessageQueueURL, file: String?, environment: String?) throws(MessageQueuePasswordError) -> MessageQueueURL {
        let environment = environment.flatMap { $0.isEmpty ? nil : $0 }
        var sources: [String] = []
        if url.password != nil { sources.append("--message-queue (a password in the URL)") }
        if file != nil { sources.append("--message-queue-password-file") }
        if environment != nil { sources.append(environmentVariable) }
        guard sources.count <= 1 else {
            throw MessageQueuePasswordError(
                "\(sources.joined(separator: " and ")) both give the \(url.broker) password; give it in one place (the file or \(environmentVariable) keep it out of ps)")
        }
        var resolved = url
        if let file { resolved.password = try read(file) }
        if let environment { resolved.password = environment }
        return resolved
    }

    /// The password in `path`: its bytes as UTF-8, without one trailing newline (`\n` or `\r\n`).
    /// - Parameters:
    ///   - path: the file.
    ///   - option: the flag that named it, for messages; default `--message-queue-password-file`.
    ///   - secret: what it should hold, for messages; default "the password".
    static func read(
        _ path: String, option: String = "--message-queue-password-file", secret: String = "the password"
    ) throws(MessageQueuePasswordError) -> String {
        let flag = "\(option) \(LogSafe.text(path))"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MessageQueuePasswordError("\(flag): cannot open it (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw MessageQueuePasswordError("\(flag): cannot read it (\(String(cString: strerror(errno))))")
            }
            if count == 0 { break }
            bytes += buffer[0..<count]
            guard bytes.count <= maxFileBytes else {
                throw MessageQueuePasswordError("\(flag) is larger than \(maxFileBytes) bytes; it should hold only \(secret)")
            }
        }
        if bytes.last == 10 { bytes.removeLast() }
        if bytes.last == 13 { bytes.removeLast() }
        guard !bytes.isEmpty else { throw MessageQueuePasswordError("\(flag) is empty; it should hold \(secret)") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw MessageQueuePasswordError("\(flag) is not UTF-8 text") }
        return text
    }
}

/// Why the message queue's password could not be settled; the message names the flags (never the password).
struct MessageQueuePasswordError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
