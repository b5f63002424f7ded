#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import EngineIO
import QuenchApp
import QuenchSystem

/// The Socket.IO Admin UI's flags (`--admin` and its options), a group of their own.
struct AdminOptions: ParsableArguments {
    /// `--admin-auth`: who may log in.
    enum Auth: String, ExpressibleByArgument, CaseIterable {
        case basic
        case none
    }

    @Flag(
        help: ArgumentHelp(
            "Serve the Socket.IO Admin UI's server side (admin.socket.io, @socket.io/admin-ui 0.5) on --admin-namespace: live sockets, rooms, server stats, events, and emit/join/leave/disconnect actions. Off by default."))
    var admin = false

    @Option(help: ArgumentHelp("With --admin: the namespace the Admin UI connects to (not /).", valueName: "namespace"))
    var adminNamespace = "/admin"

    @Option(
        help: ArgumentHelp(
            "With --admin: basic (a user name and bcrypt password hash from --admin-auth-file or QUENCH_ADMIN_AUTH) or none (anyone who reaches the port may log in: only behind your own access control).",
            valueName: "basic|none"))
    var adminAuth = Auth.basic

    @Option(
        help: ArgumentHelp(
            "With --admin-auth basic: file holding one line USER:HASH, where HASH is a bcrypt hash ($2b$...), so that it is not on the command line; QUENCH_ADMIN_AUTH in the environment does the same.",
            valueName: "file"),
        completion: .file())
    var adminAuthFile: String?

    @Flag(help: ArgumentHelp("With --admin: advertise no actions (emit, join, leave, disconnect) and refuse them if sent anyway."))
    var adminReadOnly = false

    @Option(
        help: ArgumentHelp(
            "With --admin: event_received/event_sent reports per second at most, per node (0 to 100000; 0 sends only the aggregated counts). Past it they are counted, not sent.",
            valueName: "count"))
    var adminEventRate = 50

    /// The environment variable holding `USER:HASH` (a service manager sets it in `/etc/default/quench`).
    static let environmentVariable = "QUENCH_ADMIN_AUTH"

    mutating func validate() throws {
        guard admin else {
            let given = [
                ("--admin-namespace", adminNamespace != "/admin"), ("--admin-auth", adminAuth != .basic), ("--admin-auth-file", adminAuthFile != nil),
                ("--admin-read-only", adminReadOnly), ("--admin-event-rate", adminEventRate != 50),
            ].filter(\.1).map(\.0)
            if let flag = given.first { throw ValidationError("\(flag) needs --admin") }
            return
        }
        guard adminNamespace.hasPrefix("/"), adminNamespace != "/", (2...128).contains(adminNamespace.utf8.count),
            !adminNamespace.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F || $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "?") })
        else {
            throw ValidationError("--admin-namespace must start with / and name a namespace other than / (2 to 128 bytes, no spaces, commas or ?), not '\(LogSafe.text(adminNamespace))'")
        }
        guard (0...100_000).contains(adminEventRate) else { throw ValidationError("--admin-event-rate must be between 0 and 100000, not \(adminEventRate)") }
        switch adminAuth {
        case .none:
            if adminAuthFile != nil { throw ValidationError("--admin-auth-file is for --admin-auth basic, not none") }
        case .basic:
            do { _ = try credentials() } catch { throw ValidationError("\(error)") }
        }
    }

    /// The user and hash from the file or the environment (exactly one of them).
    func credentials() throws(AdminAuthError) -> (username: String, hash: String) {
        let environment = getenv(Self.environmentVariable).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
        let line: String
        switch (adminAuthFile, environment) {
        case (.some, .some):
            throw AdminAuthError("--admin-auth-file and \(Self.environmentVariable) both give the admin login; give it in one place")
        case (.none, .none):
            throw AdminAuthError(
                "--admin needs a login: --admin-auth-file FILE or \(Self.environmentVariable) holding USER:BCRYPT-HASH (htpasswd -nbBC 10 USER PASSWORD makes one), or --admin-auth none")
        case (.some(let file), .none):
            do { line = try MessageQueuePassword.read(file, option: "--admin-auth-file", secret: "USER:HASH") } catch {
                throw AdminAuthError(error.description)
            }
        case (.none, .some(let value)):
            line = value
        }
        let source = adminAuthFile.map { "--admin-auth-file \(LogSafe.text($0))" } ?? Self.environmentVariable
        guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
            throw AdminAuthError("\(source) must hold USER:HASH (one line, a bcrypt hash after the first colon)")
        }
        let username = String(line[..<colon])
        let hash = String(line[line.index(after: colon)...]).trimmingTrailingSpaces()
        guard PasswordHash.isBcrypt(hash) else {
            throw AdminAuthError("\(source): the hash after USER: is not a bcrypt hash ($2b$, $2y$ or $2a$, cost 04-31, 60 characters)")
        }
        return (username, hash)
    }

    /// The Admin UI's settings; nil without --admin.
    func configuration(secure: Bool, path: String, clustered: Bool) -> AdminConfiguration? {
        guard admin else { return nil }
        var authentication = AdminConfiguration.Authentication.none
        if adminAuth == .basic, let login = try? credentials() {
            authentication = .basic(username: login.username, bcryptHash: login.hash)
        }
        let hostname = HostIdentity.hostname()
        let pid = HostIdentity.pid()
        return AdminConfiguration(
            namespace: adminNamespace, authentication: authentication, readOnly: adminReadOnly, eventsPerSecond: adminEventRate,
            // Nodes of a cluster may share a host: the pid tells them apart (as Node's server does for workers).
            serverID: clustered ? "\(hostname)#\(pid)" : hostname, hostname: hostname, pid: pid, secure: secure, path: path)
    }
}

/// Why the admin login could not be read; names the flag or variable, never the hash.
struct AdminAuthError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var text = self
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}
