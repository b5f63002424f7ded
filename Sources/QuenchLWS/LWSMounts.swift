import CLibWebSockets

/// The lws mount list for `--static DIR`: the directory at `/`, served by lws itself (MIME types,
/// ranges, no escaping the directory), and each engine path handed back to our protocol callback.
///
/// lws keeps pointers into this memory for the context's whole life: it is allocated here, never
/// moved, and freed only when the server (after the context) goes.
final class LWSMounts {
    private let mounts: UnsafeMutablePointer<lws_http_mount>
    private let count: Int
    private var strings: [UnsafeMutablePointer<CChar>] = []

    /// The first mount, for `lws_context_creation_info.mounts`.
    var head: UnsafePointer<lws_http_mount> { UnsafePointer(mounts) }

    init(directory: String, callbackPaths: [String], protocolName: UnsafeMutablePointer<CChar>) {
        count = callbackPaths.count + 1
        mounts = .allocate(capacity: count)
        mounts.initialize(repeating: lws_http_mount(), count: count)
        for (index, path) in callbackPaths.enumerated() {
            // lws matches mountpoints without the trailing slash ("/socket.io" covers "/socket.io/…").
            let mountpoint = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
            mounts[index].mountpoint = UnsafePointer(keep(mountpoint))
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
