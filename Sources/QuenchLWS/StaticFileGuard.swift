#if canImport(Glibc)
import Glibc
#endif

/// Decides which `--static` requests lws may serve, before its file mount sees them.
///
/// lws's mount keeps a request inside the directory by the URL alone (it folds `..` away) and refuses
/// only files without a known extension: it serves dotfiles (`/.env.txt`, `/.git/config.txt`) and
/// follows symlinks wherever they point. Here the file a request names is resolved the way the kernel
/// will open it (`realpath`), and refused unless that real path lies inside the directory's own real
/// path with no component starting with a dot, whatever the URL or a symlink said on the way. (A
/// symlink swapped between this check and lws's open is out of reach: that needs write access to
/// the directory, which is the operator's.)
struct StaticFileGuard: Sendable {
    /// Why a request is refused, for the log line.
    enum Refusal: Error, Equatable, CustomStringConvertible {
        /// The URL names a dotfile or a dot-directory (`.`, `..` included).
        case dotPath
        /// The file's real path (symlinks followed) lies outside the directory.
        case outsideDirectory
        /// The file's real path inside the directory passes through a dot name (a symlink to a dotfile).
        case dotTarget
        /// Nothing there (or a dangling symlink, a loop, a path through a file).
        case notFound

        var description: String {
            switch self {
            case .dotPath: "dotfiles and dot-directories are not served"
            case .outsideDirectory: "resolves outside the --static directory"
            case .dotTarget: "resolves to a dotfile or into a dot-directory"
            case .notFound: "no such file in the --static directory"
            }
        }

        /// Whether the request tried to reach what it may not (logged as a warning), rather than
        /// simply missing (a stale link, a favicon: logged as info).
        var isProbe: Bool { self != .notFound }
    }

    /// The directory's real path, without a trailing slash (`/` stays `/`).
    let root: String
    /// The file served for a directory, as lws's mount has it.
    let indexFile: String

    /// nil if `directory` cannot be resolved (it no longer exists).
    init?(directory: String, indexFile: String = "index.html") {
        guard let real = Self.realPath(directory) else { return nil }
        root = real
        self.indexFile = indexFile
    }

    /// The real path of the file lws would serve for `path` (a URL path as lws parsed it: decoded,
    /// starting with `/`), or why it must not.
    func resolve(_ path: String) -> Result<String, Refusal> {
        if Self.hasDotComponent(path) { return .failure(.dotPath) }
        var candidate = root == "/" ? path : root + path
        if path.hasSuffix("/") || Self.isDirectory(candidate) {
            candidate += (candidate.hasSuffix("/") ? "" : "/") + indexFile
        }
        guard let real = Self.realPath(candidate) else { return .failure(.notFound) }
        guard let inside = relative(real) else { return .failure(.outsideDirectory) }
        return Self.hasDotComponent(inside) ? .failure(.dotTarget) : .success(real)
    }

    /// `real` relative to the root (with a leading `/`), or nil when it is not under the root.
    private func relative(_ real: String) -> String? {
        if root == "/" { return real }
        guard real.hasPrefix(root) else { return nil }
        let rest = real.dropFirst(root.utf8.count)
        guard rest.isEmpty || rest.hasPrefix("/") else { return nil }  // /srv/site2 is not inside /srv/site
        return String(rest)
    }

    private static func hasDotComponent(_ path: String) -> Bool {
        path.split(separator: "/").contains { $0.hasPrefix(".") }
    }

    private static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
