import EngineIO

/// A connection from another node: its hello (within ``DirectNodeLink/helloTimeout``), then node messages.
final class InboundLink: LinkSocketHandler {
    unowned let owner: DirectNodeLink
    let socket: any LinkSocket
    let acceptedAt: Int64
    /// The connecting node's tag once its hello named this node's token.
    private(set) var peerTag: String?
    /// Before the hello only a hello-sized frame is taken.
    private var reader = LinkFrame.Reader(maxLength: 256)

    init(owner: DirectNodeLink, socket: any LinkSocket, acceptedAt: Int64) {
        self.owner = owner
        self.socket = socket
        self.acceptedAt = acceptedAt
    }

    func linkSocket(_ socket: any LinkSocket, received bytes: [UInt8]) {
        reader.append(bytes)
        while true {
            let frame: [UInt8]
            do throws(LinkFrameError) {
                guard let next = try reader.next() else { return }
                frame = next
            } catch { return owner.closeInbound(self, refusal: "\(error)") }
            guard peerTag != nil else {
                guard let hello = LinkHello.parseHello(frame), owner.admits(tag: hello.tag, token: hello.token) else {
                    return owner.closeInbound(self, refusal: "its first frame was not a hello naming this node's token")
                }
                peerTag = hello.tag
                reader.maxLength = LinkFrame.maxLength
                let welcome = LinkFrame.frame(LinkHello.welcome(tag: owner.nodeTag))
                // A fresh socket's buffer takes these few bytes at once; if not, the connector times out and retries.
                guard socket.write(welcome[...]) == welcome.count else { return owner.closeInbound(self, refusal: "could not write the welcome") }
                owner.inboundAuthenticated(self)
                continue
            }
            owner.received(frame, from: self)
        }
    }

    func linkSocketWritable(_ socket: any LinkSocket) {}

    func linkSocketClosed(_ socket: any LinkSocket, reason: String) {
        owner.log.debug("node link: the connection from \(LogSafe.text(socket.peerAddress)) ended: \(reason)")
        owner.closeInbound(self, refusal: nil)
    }
}
