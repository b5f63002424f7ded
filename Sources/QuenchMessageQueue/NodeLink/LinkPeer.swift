/// Another node with `--node-link`, as last announced.
final class LinkPeer {
    let tag: String
    var address: LinkAddress
    var token: String
    var lastHeard: Int64
    var link: OutboundLink?
    var retryAt: Int64 = .min
    /// When a message for it last went through the message queue.
    var lastQueuedAt: Int64 = .min / 2

    init(tag: String, address: LinkAddress, token: String, heard: Int64) {
        self.tag = tag
        self.address = address
        self.token = token
        lastHeard = heard
    }
}
