#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import QuenchLWS

/// A real directory tree with real symlinks, built in a fresh temporary directory for each test.
@Suite struct StaticFileGuardTests {
    /// site/ (index.html, app.js, sub/a.txt, .env.txt, .git/config.txt, links) beside secret.txt.
    private func makeSite() throws -> (base: String, site: String) {
        var template = Array("/tmp/quench-static-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let base = String(cString: try #require(made))
        let site = base + "/site"
        for directory in [site, site + "/sub", site + "/.git", site + "/site2"] { mkdir(directory, 0o755) }
        mkdir(base + "/site2", 0o755)
        for file in [site + "/index.html", site + "/app.js", site + "/sub/a.txt", site + "/.env.txt", site + "/.git/config.txt",
                     base + "/secret.txt", base + "/site2/b.txt"] {
            let fd = open(file, O_CREAT | O_WRONLY, 0o644)
            close(fd)
        }
        symlink("/etc/passwd", site + "/sub/pw.txt")
        symlink("a.txt", site + "/sub/inside.txt")
        symlink("../.env.txt", site + "/sub/env.txt")
        symlink("../secret.txt", site + "/up.txt")
        symlink(base + "/site2", site + "/sibling")  // /…/site2 starts with /…/site but is not inside it
        symlink("/etc", site + "/etc")
        symlink("missing.txt", site + "/dangling.txt")
        return (base, site)
    }

    private func remove(_ base: String) {
        // Only what makeSite made; no recursive delete helper is needed for a handful of entries.
        for link in ["site/sub/pw.txt", "site/sub/inside.txt", "site/sub/env.txt", "site/up.txt", "site/sibling", "site/etc", "site/dangling.txt"] {
            unlink(base + "/" + link)
        }
        for file in ["site/index.html", "site/app.js", "site/sub/a.txt", "site/.env.txt", "site/.git/config.txt", "secret.txt", "site2/b.txt"] {
            unlink(base + "/" + file)
        }
        for directory in ["site/sub", "site/.git", "site/site2", "site", "site2", ""] { rmdir(base + "/" + directory) }
    }

    @Test func filesInsideAreServedWithTheirRealPath() throws {
        let (base, site) = try makeSite()
        defer { remove(base) }
        let files = try #require(StaticFileGuard(directory: site))
        let root = files.root
        #expect(files.resolve("/") == .success(root + "/index.html"))
        #expect(files.resolve("/app.js") == .success(root + "/app.js"))
        #expect(files.resolve("/sub/a.txt") == .success(root + "/sub/a.txt"))
        // A symlink that stays inside is followed.
        #expect(files.resolve("/sub/inside.txt") == .success(root + "/sub/a.txt"))
    }

    @Test func dotfilesAndDotDirectoriesAreRefusedByName() throws {
        let (base, site) = try makeSite()
        defer { remove(base) }
        let files = try #require(StaticFileGuard(directory: site))
        for path in ["/.env.txt", "/.git/config.txt", "/.git/", "/sub/../.env.txt", "/./app.js", "/../secret.txt", "/.missing"] {
            #expect(files.resolve(path) == .failure(.dotPath), "\(path)")
        }
    }

    @Test func symlinksOutOfTheDirectoryAreRefused() throws {
        let (base, site) = try makeSite()
        defer { remove(base) }
        let files = try #require(StaticFileGuard(directory: site))
        #expect(files.resolve("/sub/pw.txt") == .failure(.outsideDirectory))
        #expect(files.resolve("/up.txt") == .failure(.outsideDirectory))
        #expect(files.resolve("/sibling/b.txt") == .failure(.outsideDirectory))
        #expect(files.resolve("/etc/passwd") == .failure(.outsideDirectory))
        // A symlink inside that lands on a dotfile is refused too.
        #expect(files.resolve("/sub/env.txt") == .failure(.dotTarget))
    }

    @Test func missingFilesAreNotFound() throws {
        let (base, site) = try makeSite()
        defer { remove(base) }
        let files = try #require(StaticFileGuard(directory: site))
        #expect(files.resolve("/nothing.txt") == .failure(.notFound))
        #expect(files.resolve("/dangling.txt") == .failure(.notFound))
        #expect(files.resolve("/sub/") == .failure(.notFound))  // a directory without index.html
        #expect(files.resolve("/app.js/x") == .failure(.notFound))
        #expect(StaticFileGuard(directory: base + "/no-such-dir") == nil)
    }

    @Test func onlyRefusalsOfReachingOutAreProbes() {
        #expect(StaticFileGuard.Refusal.dotPath.isProbe)
        #expect(StaticFileGuard.Refusal.outsideDirectory.isProbe)
        #expect(StaticFileGuard.Refusal.dotTarget.isProbe)
        #expect(!StaticFileGuard.Refusal.notFound.isProbe)
    }
}
