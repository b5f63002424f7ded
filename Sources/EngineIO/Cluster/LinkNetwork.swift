/// Plain TCP between quench nodes (`--node-link`), lent by the binding to the layer that speaks the link
/// (hello, frames, peers) so that layer knows no sockets and its tests run in memory. Everything happens on
/// the service thread and nothing blocks: connects and writes are non-blocking, reads come when data is there.
public protocol LinkNetwork: AnyObject {
    /// Listens on `host` (a numeric IPv4 or IPv6 address) and `port`, handing every accepted connection to
    /// `accepted`. Service thread. Nil on success, else the reason (for the one error line at start).
    func listenForLinks(host: String, port: Int, accepted: @escaping (any LinkSocket) -> Void) -> String?
    /// Starts a non-blocking connect to `host` (numeric) and `port`: the socket reports ``LinkSocketHandler/linkSocketWritable(_:)``
    /// once connected, or ``LinkSocketHandler/linkSocketClosed(_:reason:)`` when the connect fails. Nil when it failed at once.
    func connectLink(host: String, port: Int) -> (any LinkSocket)?
}

/// One TCP connection between two nodes. Service thread only.
public protocol LinkSocket: AnyObject {
    /// Who hears about it (held weakly). Set right after the socket is made, before the loop turns.
    var handler: (any LinkSocketHandler)? { get set }
    /// The other end's address, for log lines.
    var peerAddress: String { get }
    /// Writes what the kernel takes now: the count written (0 while connecting or when its buffer is full),
    /// nil when the connection is broken (a close follows).
    func write(_ bytes: ArraySlice<UInt8>) -> Int?
    /// Asks for one ``LinkSocketHandler/linkSocketWritable(_:)`` once the socket can take more.
    func wantWritable()
    /// Closes it; no callback after.
    func close()
}

/// What a ``LinkSocket`` reports, on the service thread.
public protocol LinkSocketHandler: AnyObject {
    func linkSocket(_ socket: any LinkSocket, received bytes: [UInt8])
    /// Connected (once, for an outbound socket), or room in the kernel's buffer after ``LinkSocket/wantWritable()``.
    func linkSocketWritable(_ socket: any LinkSocket)
    /// The other end closed, the connection broke or the connect failed (`reason` says which, for the log);
    /// the socket is closed already.
    func linkSocketClosed(_ socket: any LinkSocket, reason: String)
}
