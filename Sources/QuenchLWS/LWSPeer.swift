import CLibWebSockets

/// What quench keeps for one lws connection (`wsi`): a retained Swift object whose pointer sits in the
/// connection's opaque user data. Subclasses are the two kinds of connection the server speaks.
///
/// Why the opaque pointer and not the per-session data: lws frees and zeroes the per-session data at
/// every protocol rebind (each keep-alive request, each upgrade), but never touches the opaque pointer.
/// Ownership: ``attach(to:)`` retains once; ``detach(from:)`` releases once — at the latest on
/// `LWS_CALLBACK_WSI_DESTROY`, the last callback every wsi gets. Service thread only.
class LWSPeer {
    /// The lws connection; valid until `WSI_DESTROY`.
    let wsi: OpaquePointer
    unowned let server: LWSServer

    init(wsi: OpaquePointer, server: LWSServer) {
        self.wsi = wsi
        self.server = server
    }

    /// The object attached to `wsi`, if any.
    static func stored(on wsi: OpaquePointer) -> LWSPeer? {
        guard let pointer = lws_get_opaque_user_data(wsi) else { return nil }
        return Unmanaged<LWSPeer>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// Attaches `self` to its wsi, releasing whatever was there (a finished HTTP exchange on a
    /// keep-alive connection, or the HTTP side of an upgraded one).
    func attach() {
        LWSPeer.detach(from: wsi)?.ended()
        lws_set_opaque_user_data(wsi, Unmanaged.passRetained(self).toOpaque())
    }

    /// Releases and clears the attached object; returns it (still alive for the caller) if there was one.
    @discardableResult
    static func detach(from wsi: OpaquePointer) -> LWSPeer? {
        guard let pointer = lws_get_opaque_user_data(wsi) else { return nil }
        lws_set_opaque_user_data(wsi, nil)
        return Unmanaged<LWSPeer>.fromOpaque(pointer).takeRetainedValue()
    }

    /// The connection (or this use of it) is over. Subclasses tell the engine; called at most once each.
    func ended() {}
}
