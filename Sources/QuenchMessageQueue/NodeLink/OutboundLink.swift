import EngineIO

/// This node's connection to one other node: its hello, then the messages for that node, written as the
/// socket takes them from a queue bounded by ``DirectNodeLink/maxQueuedBytes``.
final class OutboundLink: LinkSocketHandler {
    unowned let owner: DirectNodeLink
    /// Unowned: the peer holds its link (``LinkPeer/link``), and outlives it.
    unowned let peer: LinkPeer
    let socket: any LinkSocket
    let startedAt: Int64
    /// Whether the welcome came: messages go here only then.
    private(set) var isUp = false
    /// Nothing is written before this time (``DirectNodeLink/corkAfterQueue``).
    var corkUntil: Int64 = .min
    /// Frames not yet written whole, oldest first from ``head``, with the message each carries (nil: the hello).
    private var queue: [(frame: [UInt8], message: NodeMessage?)] = []
    private var head = 0
    /// Bytes of the frame at ``head`` already written.
    private var written = 0
    private(set) var queuedBytes = 0
    private var reader = LinkFrame.Reader(maxLength: 256)

    init(owner: DirectNodeLink, peer: LinkPeer, socket: any LinkSocket, startedAt: Int64) {
        self.owner = owner
        self.peer = peer
        self.socket = socket
        self.startedAt = startedAt
    }

    func enqueue(_ frame: [UInt8], _ message: NodeMessage?) {
        queue.append((frame, message))
        queuedBytes += frame.count
    }

    /// Writes what the socket takes now; asks for room when it takes less.
    func flush(at time: Int64) {
        guard time >= corkUntil else { return }
        while head < queue.count {
            let frame = queue[head].frame
            guard let count = socket.write(frame[written...]) else { return owner.linkFailed(self, "write failed") }
            written += count
            guard written == frame.count else {
                socket.wantWritable()
                return
            }
            if queue[head].message != nil { owner.counters.add(owner.counters.framesSent, 1) }
            queuedBytes -= frame.count
            queue[head] = ([], nil)
            head += 1
            written = 0
        }
        queue.removeAll(keepingCapacity: queue.count <= 1024)
        head = 0
    }

    /// The messages not yet written whole, in order (the link is over).
    func takeUnwritten() -> [NodeMessage] {
        let messages = queue[head...].compactMap(\.message)
        queue = []
        head = 0
        queuedBytes = 0
        return messages
    }

    func linkSocket(_ socket: any LinkSocket, received bytes: [UInt8]) {
        reader.append(bytes)
        while true {
            let frame: [UInt8]
            do throws(LinkFrameError) {
                guard let next = try reader.next() else { return }
                frame = next
            } catch { return owner.linkFailed(self, "\(error)") }
            guard !isUp, LinkHello.parseWelcome(frame) == peer.tag else { return owner.linkFailed(self, "the node's answer was not its welcome") }
            isUp = true
            owner.linkUp(self)
        }
    }

    func linkSocketWritable(_ socket: any LinkSocket) { flush(at: owner.now()) }

    func linkSocketClosed(_ socket: any LinkSocket, reason: String) {
        owner.linkFailed(self, isUp ? reason : "not connected: \(reason)")
    }
}
