import ArgumentParser
import Testing

@testable import quench

/// `--node-link`: only with `--message-queue`, a HOST:PORT other nodes can reach; every refusal exits 64 with
/// one line naming the flag.
@Suite struct NodeLinkOptionTests {
    private func message(_ arguments: [String]) -> (code: Int32, text: String)? {
        do {
            _ = try ServerOptions.parse(arguments)
            return nil
        } catch {
            return (ServerOptions.exitCode(for: error).rawValue, ServerOptions.message(for: error))
        }
    }

    @Test func addressesOtherNodesCanReachAreTaken() throws {
        for value in ["10.0.0.1:7000", "[fd00::1]:7000", "node-1.internal:7000", "localhost:1"] {
            let options = try ServerOptions.parse(["--message-queue", "redis://127.0.0.1", "--node-link", value])
            #expect(options.nodeLink == value)
        }
        #expect(try ServerOptions.parse([]).nodeLink == nil)
    }

    @Test func everythingElseIsRefusedNamingTheFlag() {
        let cases: [([String], String)] = [
            (["--node-link", "10.0.0.1:7000"], "needs --message-queue"),
            (["--message-queue", "redis://127.0.0.1", "--node-link", "0.0.0.0:7000"], "not 0.0.0.0 or ::"),
            (["--message-queue", "redis://127.0.0.1", "--node-link", "[::]:7000"], "not 0.0.0.0 or ::"),
            (["--message-queue", "redis://127.0.0.1", "--node-link", "10.0.0.1"], "HOST:PORT"),
            (["--message-queue", "redis://127.0.0.1", "--node-link", "10.0.0.1:0"], "HOST:PORT"),
            (["--message-queue", "redis://127.0.0.1", "--node-link", "10.0.0.1:65536"], "HOST:PORT"),
            (["--message-queue", "redis://127.0.0.1", "--node-link", "fd00::1:7000"], "HOST:PORT"),
            (["--message-queue", "redis://127.0.0.1", "--node-link", "a b:7000"], "HOST:PORT"),
            (["--message-queue", "redis://127.0.0.1", "--node-link", ":7000"], "HOST:PORT"),
        ]
        for (arguments, expected) in cases {
            guard let refusal = message(arguments) else {
                Issue.record("\(arguments) was accepted")
                continue
            }
            #expect(refusal.code == 64, "\(arguments)")
            #expect(refusal.text.contains("--node-link") && refusal.text.contains(expected), "\(arguments): \(refusal.text)")
        }
    }
}
