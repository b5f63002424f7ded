/// The service thread's poll, lent to the layers that know no lws: a socket that is not a client's (the
/// Redis subscription) is read by the service thread when it has data, rather than by a thread of its own
/// that would then have to wake the service thread for every message. Each such wake-up costs about as much
/// CPU as handling the message itself.
public protocol DescriptorWatcher: AnyObject, Sendable {
    /// Service thread. Until `stop()` is called on what it returns, `readable` runs on the service thread
    /// whenever `descriptor` has data (or an end) to read, and `closed` once if the loop itself gives up on
    /// it (an error or hang-up it saw first). The watcher polls a duplicate of `descriptor` and closes only
    /// that one. Nil when the loop cannot take it (the caller reads on its own thread instead).
    func watch(_ descriptor: Int32, readable: @escaping () -> Void, closed: @escaping () -> Void) -> (any DescriptorWatch)?
}

/// One descriptor the service thread polls for its owner.
public protocol DescriptorWatch: AnyObject {
    /// Service thread: neither callback runs after this.
    func stop()
}
