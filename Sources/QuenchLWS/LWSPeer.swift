import CLibWebSockets

/// What quench keeps for one lws connection (`wsi`): a retained Swift object whose pointer sits in the
/// connection's per-session data. Subclasses are the two kinds of connection the server speaks.
///
/// Ownership: ``attach(to:user:)`` retains once; ``detach(user:)`` releases once, on the connection's
/// close callback. Service thread only.
class LWSPeer {
    /// The lws connection; valid until the close callback.
    let wsi: OpaquePointer
    unowned let server: LWSServer

    init(wsi: OpaquePointer, server: LWSServer) {
        self.wsi = wsi
        self.server = server
    }

    /// The object stored in a connection's per-session data, if any.
    static func stored(in user: UnsafeMutableRawPointer?) -> LWSPeer? {
        guard let user, let pointer = user.load(as: UnsafeMutableRawPointer?.self) else { return nil }
        return Unmanaged<LWSPeer>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// Stores `self` in the per-session data, releasing whatever was there (a finished HTTP exchange
    /// on a keep-alive connection, or the HTTP side of an upgraded one).
    func attach(user: UnsafeMutableRawPointer) {
        LWSPeer.detach(user: user)
        user.storeBytes(of: Unmanaged.passRetained(self).toOpaque(), as: UnsafeMutableRawPointer?.self)
    }

    /// Releases and clears the stored object; a no-op when there is none.
    @discardableResult
    static func detach(user: UnsafeMutableRawPointer?) -> LWSPeer? {
        guard let user, let pointer = user.load(as: UnsafeMutableRawPointer?.self) else { return nil }
        user.storeBytes(of: nil, as: UnsafeMutableRawPointer?.self)
        return Unmanaged<LWSPeer>.fromOpaque(pointer).takeRetainedValue()
    }
}
