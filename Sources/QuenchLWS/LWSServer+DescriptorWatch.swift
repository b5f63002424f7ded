#if canImport(Glibc)
import Glibc
#endif
import CLibWebSockets
import EngineIO

/// A descriptor the service loop polls for code outside the binding (``EngineIO/DescriptorWatcher``), adopted
/// as a raw descriptor as the `--reuse-port` listener is. lws owns the duplicate it polls and closes it with
/// the wsi; the owner keeps the original.
final class WatchedDescriptor: DescriptorWatch {
    let readable: () -> Void
    /// Runs once per ``wantWritable()`` when the descriptor can take more (a `--node-link` socket).
    var writable: (() -> Void)?
    let closed: () -> Void
    /// The adopted wsi while it is watched.
    fileprivate(set) var wsi: OpaquePointer?
    fileprivate unowned let server: LWSServer

    fileprivate init(wsi: OpaquePointer, server: LWSServer, readable: @escaping () -> Void, closed: @escaping () -> Void) {
        self.wsi = wsi
        self.server = server
        self.readable = readable
        self.closed = closed
    }

    /// Polls for room to write once more (LWS_CALLBACK_RAW_WRITEABLE_FILE then runs ``writable``).
    func wantWritable() {
        guard let wsi else { return }
        lws_callback_on_writable(wsi)
    }

    func stop() {
        guard let wsi else { return }
        self.wsi = nil
        server.watchedDescriptors[wsi] = nil
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC)
    }
}

extension LWSServer: DescriptorWatcher {
    public func watch(_ descriptor: Int32, readable: @escaping () -> Void, closed: @escaping () -> Void) -> (any DescriptorWatch)? {
        watchDescriptor(descriptor, readable: readable, closed: closed)
    }

    /// ``watch(_:readable:closed:)`` with the concrete watch, whose ``WatchedDescriptor/wantWritable()`` the
    /// binding's own sockets use.
    func watchDescriptor(_ descriptor: Int32, readable: @escaping () -> Void, closed: @escaping () -> Void) -> WatchedDescriptor? {
        guard let context, let vhost = lws_get_vhost_by_name(context, "default") else { return nil }
        let copy = dup(descriptor)
        guard copy >= 0 else { return nil }
        _ = fcntl(copy, F_SETFD, FD_CLOEXEC)
        var adopted = lws_sock_file_fd_type()
        adopted.filefd = copy
        // No protocol name: lws binds a raw descriptor to protocols[0], whose callback takes RAW_RX_FILE.
        // (On failure lws may or may not have closed `copy` already: it is left alone, at worst one
        // descriptor leaked in a case that needs lws to be out of memory.)
        guard let wsi = lws_adopt_descriptor_vhost(vhost, LWS_ADOPT_RAW_FILE_DESC, adopted, nil, nil) else { return nil }
        // lws announced it as a connection (WSI_CREATE); it is not one (``watchedDescriptorClosed(_:)``).
        openConnections -= 1
        let watch = WatchedDescriptor(wsi: wsi, server: self, readable: readable, closed: closed)
        watchedDescriptors[wsi] = watch
        adoptedDescriptors.insert(wsi)
        return watch
    }

    /// LWS_CALLBACK_RAW_RX_FILE for a watched descriptor; false when `wsi` is not one.
    func watchedDescriptorReadable(_ wsi: OpaquePointer) -> Bool {
        guard let watch = watchedDescriptors[wsi] else { return false }
        watch.readable()
        return true
    }

    /// LWS_CALLBACK_RAW_WRITEABLE_FILE for a watched descriptor.
    func watchedDescriptorWritable(_ wsi: OpaquePointer) {
        watchedDescriptors[wsi]?.writable?()
    }

    /// LWS_CALLBACK_RAW_CLOSE_FILE: lws closes a watched duplicate, after ``WatchedDescriptor/stop()`` or on
    /// its own (a hang-up; the context going); WSI_DESTROY follows, which must not count a connection gone.
    /// False when `wsi` was never a watched one.
    func watchedDescriptorClosed(_ wsi: OpaquePointer) -> Bool {
        guard adoptedDescriptors.remove(wsi) != nil else { return false }
        openConnections += 1
        if let watch = watchedDescriptors.removeValue(forKey: wsi) {
            watch.wsi = nil
            watch.closed()
        }
        return true
    }
}
