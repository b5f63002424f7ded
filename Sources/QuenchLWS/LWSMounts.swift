import CLibWebSockets

/// The lws mount list for `--static DIR`: the directory at `/`, served by lws itself (MIME types,
/// ranges), and each engine path handed back to our protocol callback. lws's mount alone would serve
/// dotfiles and follow symlinks out of the directory: ``guard`` vets each request first.
///
/// lws keeps pointers into this memory for the context's whole life: it is allocated here, never
/// moved, and freed only when the server (after the context) goes.
final class LWSMounts {
    private let mounts: UnsafeMutablePointer<lws_http_mount>
    private let count: Int
    private var strings: [UnsafeMutablePointer<CChar>] = []
    /// Which requests the file mount may serve (checked in `LWS_CALLBACK_FILTER_HTTP_CONNECTION`).
    let fileGuard: StaticFileGuard?

    /// The first mount, for `lws_context_creation_info.mounts`.
    var head: UnsafePointer<lws_http_mount> { UnsafePointer(mounts) }

    /// - Parameter callbackPaths: engine paths, each under 255 bytes (lws keeps a mountpoint's length in
    ///   one byte; `--path` allows 128).
    init(directory: String, callbackPaths: [String], protocolName: UnsafeMutablePointer<CChar>) {
        fileGuard = StaticFileGuard(directory: directory)
        count = callbackPaths.count + 1
        mounts = .allocate(capacity: count)
        mounts.initialize(repeating: lws_http_mount(), count: count)
        for (index, path) in callbackPaths.enumerated() {
            // lws matches mountpoints without the trailing slash ("/socket.io" covers "/socket.io/…").
            let mountpoint = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
            mounts[index].mountpoint = UnsafePointer(keep(mountpoint))
            precondition(mountpoint.utf8.count <= Int(UInt8.max), "engine paths are validated to at most 128 bytes")
            mounts[index].mountpoint_len = UInt8(mountpoint.utf8.count)
            mounts[index].origin = UnsafePointer(protocolName)
            mounts[index].origin_protocol = UInt8(LWSMPRO_CALLBACK.rawValue)
        }
        let files = count - 1
        mounts[files].mountpoint = UnsafePointer(keep("/"))
        mounts[files].mountpoint_len = 1
        mounts[files].origin = UnsafePointer(keep(directory))
        mounts[files].def = UnsafePointer(keep("index.html"))
        mounts[files].origin_protocol = UInt8(LWSMPRO_FILE.rawValue)
        for index in 0..<(count - 1) { mounts[index].mount_next = UnsafePointer(mounts + index + 1) }
    }

    deinit {
        mounts.deallocate()
        for string in strings { free(string) }
    }

    private func keep(_ text: String) -> UnsafeMutablePointer<CChar> {
        let copy = strdup(text)!
        strings.append(copy)
        return copy
    }
}
