#if canImport(Glibc)
import Glibc
#endif
import QuenchRedis
import Testing

@testable import quench

/// Where the Redis password comes from (URL, file, environment: one at most), and how a password left in
/// the URL is found on the command line to be masked.
@Suite struct MessageQueuePasswordTests {
    private func temporaryFile(_ contents: String) -> String {
        var template = Array("/tmp/quench-password-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        _ = contents.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        return path
    }

    @Test func theFileGivesThePasswordWithoutItsTrailingNewline() throws {
        let url = try RedisURL(parsing: "redis://quench@h:6380/1")
        for contents in ["s3cret\n", "s3cret\r\n", "s3cret"] {
            let path = temporaryFile(contents)
            defer { unlink(path) }
            guard case .redis(let resolved) = try MessageQueuePassword.resolve(.redis(url), file: path, environment: nil) else {
                Issue.record("not a Redis URL any more")
                continue
            }
            #expect(resolved.password == "s3cret" && resolved.username == "quench" && resolved.port == 6380 && resolved.database == 1)
        }
    }

    @Test func theEnvironmentGivesThePasswordAndEmptyCountsAsUnset() throws {
        let url = try RedisURL(parsing: "redis://h")
        #expect(try MessageQueuePassword.resolve(.redis(url), file: nil, environment: "from env").password == "from env")
        #expect(try MessageQueuePassword.resolve(.redis(url), file: nil, environment: "").password == nil)
        #expect(try MessageQueuePassword.resolve(.redis(try RedisURL(parsing: "redis://:in-url@h")), file: nil, environment: "").password == "in-url")
        let amqp = try MessageQueueURL(parsing: "amqp://quench@rabbit/team")
        guard case .amqp(let resolved) = try MessageQueuePassword.resolve(amqp, file: nil, environment: "from env") else {
            Issue.record("not an AMQP URL any more")
            return
        }
        #expect(resolved.password == "from env" && resolved.username == "quench" && resolved.virtualHost == "team")
    }

    @Test func twoSourcesAreRefusedNamingBoth() throws {
        let path = temporaryFile("pw")
        defer { unlink(path) }
        let cases: [(String, String?, String?, [String])] = [
            ("redis://:in-url@h", path, nil, ["--message-queue", "--message-queue-password-file"]),
            ("redis://:in-url@h", nil, "env", ["--message-queue", "QUENCH_MESSAGE_QUEUE_PASSWORD"]),
            ("redis://h", path, "env", ["--message-queue-password-file", "QUENCH_MESSAGE_QUEUE_PASSWORD"]),
        ]
        for (text, file, environment, named) in cases {
            let url = try MessageQueueURL(parsing: text)
            do {
                _ = try MessageQueuePassword.resolve(url, file: file, environment: environment)
                Issue.record("\(text) with \(file ?? "no file") and \(environment ?? "no variable") was accepted")
            } catch {
                for name in named { #expect(error.description.contains(name), "\(error)") }
                #expect(!error.description.contains("in-url"))
            }
        }
    }

    @Test func aFileThatCannotServeIsRefusedNamingTheFlag() throws {
        let empty = temporaryFile("\n")
        let big = temporaryFile(String(repeating: "x", count: MessageQueuePassword.maxFileBytes + 1))
        defer {
            unlink(empty)
            unlink(big)
        }
        for (path, says) in [("/nonexistent/password", "No such file"), (empty, "is empty"), (big, "larger than 65536 bytes"), ("/", "cannot read")] {
            do {
                _ = try MessageQueuePassword.read(path)
                Issue.record("\(path) was accepted")
            } catch {
                #expect(error.description.hasPrefix("--message-queue-password-file \(path)"), "\(error)")
                #expect(error.description.contains(says), "\(error)")
            }
        }
    }

    @Test(arguments: [
        ("redis://:hunter2@h:1/0", "hunter2"),
        ("amqp://guest:hunter2@rabbit:5672//", "hunter2"),
        ("--message-queue=redis://app:hunter2@[::1]:6379/0", "hunter2"),
        ("REDISS://app:p@ss:w0rd@host", "p@ss:w0rd"),
        ("redis://app:a%40b@h", "a%40b"),
    ])
    func aPasswordOnTheCommandLineIsFound(argument: String, password: String) throws {
        let bytes = Array(argument.utf8)
        let range = try #require(CommandLinePassword.passwordRange(in: bytes))
        #expect(String(decoding: bytes[range], as: UTF8.self) == password)
    }

    @Test(arguments: ["redis://h:1/0", "redis://user@h", "redis://user:@h", "http://a:b@h", "--port", "/srv/a:b@c", "redis://h/a:b@c"])
    func nothingElseIsTakenForAPassword(argument: String) {
        #expect(CommandLinePassword.passwordRange(in: Array(argument.utf8)) == nil)
    }
}
