import EngineIO
import Testing

@testable import QuenchMessageQueue

/// `--node-link` driven in memory: frames, hellos, announcements, the peer table, and the order of messages
/// when a link comes up, fills or dies. Sockets are ``MemorySocket`` pairs whose bytes and events wait in
/// one queue until ``MemoryNetwork/pump()``; time is a hand-moved clock.
@Suite struct DirectNodeLinkTests {
    // MARK: Frames and hellos

    @Test func framesComeOutWholeWhateverPiecesTheBytesArriveIn() throws {
        let payloads: [[UInt8]] = [Array("one".utf8), [], Array(repeating: 7, count: 300)]
        let stream = payloads.flatMap(LinkFrame.frame)
        for piece in [1, 3, 5, 1000] {
            var reader = LinkFrame.Reader()
            var frames: [[UInt8]] = []
            var offset = 0
            while offset < stream.count {
                reader.append(Array(stream[offset..<min(offset + piece, stream.count)]))
                offset += piece
                while let frame = try reader.next() { frames.append(frame) }
            }
            #expect(frames == payloads)
        }
    }

    @Test func aFrameLongerThanTheBoundEndsTheStream() {
        var reader = LinkFrame.Reader(maxLength: 10)
        reader.append([0, 0, 0, 11])
        #expect(throws: LinkFrameError(length: 11, bound: 10)) { try reader.next() }
        #expect(LinkFrame.maxLength == 16 * 1024 * 1024)
    }

    @Test func helloAndWelcomeParseOnlyWhatTheyShouldAndTokensCompareExactly() {
        let token = DirectNodeLink.makeToken()
        #expect(token.utf8.count == 64 && LinkAnnouncement.isHex(Array(token.utf8)))
        #expect(token != DirectNodeLink.makeToken())
        let hello = LinkHello.parseHello(LinkHello.hello(tag: "0123456789ab", token: token))
        #expect(hello?.tag == "0123456789ab" && hello?.token == Array(token.utf8))
        #expect(LinkHello.parseHello(LinkHello.hello(tag: "0123456789AB", token: token)) == nil)
        #expect(LinkHello.parseHello(LinkHello.hello(tag: "0123456789ab", token: String(token.dropLast()))) == nil)
        #expect(LinkHello.parseHello(Array("GET / HTTP/1.1\r\n".utf8)) == nil)
        #expect(LinkHello.parseWelcome(LinkHello.welcome(tag: "0123456789ab")) == "0123456789ab")
        #expect(LinkHello.parseWelcome(LinkHello.hello(tag: "0123456789ab", token: token)) == nil)
        #expect(LinkHello.sameToken(Array(token.utf8), Array(token.utf8)))
        #expect(!LinkHello.sameToken(Array(token.utf8), Array(token.utf8.dropLast()) + [token.utf8.last == 0x30 ? 0x31 : 0x30]))
        #expect(!LinkHello.sameToken([], Array(token.utf8)))
    }

    // MARK: Announcements

    @Test func announcementsDecodeStrictly() throws {
        let token = String(repeating: "ab", count: 32)
        let good = LinkAnnouncement(tag: "0123456789ab", address: LinkAddress(host: "::1", port: 7000), token: token)
        let bytes = good.encode(hostID: "0123456789ab" + String(repeating: "0", count: 20))
        #expect(LinkAnnouncement.isAnnouncement(bytes))
        #expect(try LinkAnnouncement.decode(bytes) == good)
        #expect(String(decoding: bytes, as: UTF8.self).contains(#""address":"[::1]:7000""#))
        func bad(_ tag: String, _ address: String, _ token: String) -> Bool {
            let text = #"{"method":"quench_link","host_id":"x","tag":"\#(tag)","address":"\#(address)","token":"\#(token)"}"#
            return (try? LinkAnnouncement.decode(Array(text.utf8))) == nil
        }
        #expect(!bad("0123456789ab", "10.0.0.1:1", token))
        #expect(bad("0123456789a", "10.0.0.1:1", token))
        #expect(bad("0123456789ab", "node1:7000", token))  // names are resolved by their node, never announced
        #expect(bad("0123456789ab", "10.0.0.1:0", token))
        #expect(bad("0123456789ab", "10.0.0.1", token))
        #expect(bad("0123456789ab", "10.0.0.1:1", String(token.dropLast())))
        #expect(bad("0123456789ab", "10.0.0.1:1", String(repeating: "AB", count: 32)))
        // python-socketio's own messages are not announcements.
        #expect(!LinkAnnouncement.isAnnouncement(Array(#"{"method":"emit"}"#.utf8)))
    }

    @Test func addressesParseAndTheUnspecifiedOnesAreKnown() {
        #expect(LinkAddress(parsing: "10.1.2.3:4000", allowNames: false) == LinkAddress(host: "10.1.2.3", port: 4000))
        #expect(LinkAddress(parsing: "[fe80::1]:4000", allowNames: false)?.description == "[fe80::1]:4000")
        #expect(LinkAddress(parsing: "node-1.internal:4000", allowNames: false) == nil)
        #expect(LinkAddress(parsing: "node-1.internal:4000", allowNames: true)?.host == "node-1.internal")
        #expect(LinkAddress(parsing: "fe80::1:4000", allowNames: true) == nil)
        #expect(LinkAddress(parsing: "0.0.0.0:4000", allowNames: true)?.isUnspecified == true)
        #expect(LinkAddress(parsing: "[::]:4000", allowNames: true)?.isUnspecified == true)
        #expect(LinkAddress(parsing: "127.0.0.1:4000", allowNames: true)?.isUnspecified == false)
    }

    // MARK: Two nodes in memory

    @Test func messagesGoThroughTheQueueUntilTheLinkIsUpThenOnTheLink() {
        let pair = Pair()
        #expect(pair.a.send(.held(id: 1), to: pair.b.nodeTag))
        #expect(pair.fallbackA.sent.map(\.message) == [.held(id: 1)])
        pair.meet()
        #expect(pair.a.isLinked(to: pair.b.nodeTag) && pair.b.isLinked(to: pair.a.nodeTag))
        pair.clock.now += DirectNodeLink.corkAfterQueue
        pair.a.tick()
        #expect(pair.a.send(.held(id: 2), to: pair.b.nodeTag))
        #expect(pair.a.send(.held(id: 3), to: pair.b.nodeTag))
        pair.network.pump()
        #expect(pair.receivedB == [.held(id: 2), .held(id: 3)])
        #expect(pair.fallbackA.sent.count == 1)
        // The link carries the compact form (the queue keeps JSON).
        #expect(pair.network.sockets.contains { $0.isClient && $0.ownerTag == pair.a.nodeTag && $0.wrote.contains(LinkFrame.frame(NodeMessageCodec.encodeCompact(.held(id: 2)))) })
        let counters = pair.a.counters.snapshot()
        #expect(counters.framesSent == 2 && counters.fallback == 1 && counters.connections == 2)
        #expect(pair.b.counters.snapshot().framesReceived == 2)
    }

    @Test func theFirstMessagesOnANewLinkWaitUntilThoseSentThroughTheQueueHadTimeToArrive() {
        let pair = Pair()
        pair.meet(pump: false)
        // A message goes through the queue while the link is being made...
        #expect(pair.a.send(.held(id: 1), to: pair.b.nodeTag))
        pair.network.pump()
        // ...so the link's first message waits (it would overtake it), and leaves after the cork.
        #expect(pair.a.send(.held(id: 2), to: pair.b.nodeTag))
        pair.network.pump()
        #expect(pair.receivedB.isEmpty)
        pair.clock.now += DirectNodeLink.corkAfterQueue
        pair.a.tick()
        pair.network.pump()
        #expect(pair.receivedB == [.held(id: 2)])
        #expect(pair.fallbackA.sent.map(\.message) == [.held(id: 1)])
    }

    @Test func whenTheLinkDiesWhatWasNotWrittenGoesThroughTheQueueInOrderAndSoDoesWhatFollows() {
        let pair = Pair()
        pair.meet()
        pair.clock.now += DirectNodeLink.corkAfterQueue
        let socket = pair.network.sockets.first { $0.isClient && $0.ownerTag == pair.a.nodeTag }!
        socket.budget = 6  // the kernel takes six bytes, then nothing
        for id in 1...3 { #expect(pair.a.send(.held(id: UInt64(id)), to: pair.b.nodeTag)) }
        #expect(socket.wantsWritable)
        socket.other?.close()  // B goes away
        pair.network.pump()
        #expect(pair.receivedB.isEmpty)
        #expect(pair.a.send(.held(id: 4), to: pair.b.nodeTag))
        #expect(pair.fallbackA.sent.map(\.message) == [.held(id: 1), .held(id: 2), .held(id: 3), .held(id: 4)])
        #expect(!pair.a.isLinked(to: pair.b.nodeTag))
        // It connects again after the backoff.
        pair.clock.now += DirectNodeLink.retryAfter
        pair.a.tick()
        pair.network.pump()
        #expect(pair.a.isLinked(to: pair.b.nodeTag))
    }

    @Test func aFullLinkRefusesRatherThanSendingAroundIt() {
        let pair = Pair()
        pair.meet()
        pair.clock.now += DirectNodeLink.corkAfterQueue
        pair.network.sockets.first { $0.isClient && $0.ownerTag == pair.a.nodeTag }!.budget = 0
        let big = NodeMessage.upper(from: pair.a.nodeTag, Array(repeating: 0x61, count: 1024 * 1024))
        var accepted = 0
        while pair.a.send(big, to: pair.b.nodeTag) { accepted += 1 }
        #expect(accepted >= 2 && accepted <= 4)
        #expect(pair.fallbackA.sent.isEmpty)
    }

    @Test func aWrongTokenIsRefusedAndTheMessagesKeepGoingThroughTheQueue() {
        let pair = Pair()
        var forged = pair.announcement(of: pair.a)
        forged.token = String(repeating: "0", count: 64)
        pair.b.announced(forged.encode(hostID: "x"))
        pair.network.pump()
        #expect(!pair.b.isLinked(to: pair.a.nodeTag))
        #expect(pair.a.counters.snapshot().authRefused == 1)
        #expect(pair.a.counters.snapshot().connections == 0)
        #expect(pair.b.send(.held(id: 9), to: pair.a.nodeTag))
        #expect(pair.fallbackB.sent.map(\.message) == [.held(id: 9)])
        #expect(pair.log.lines.contains { $0.contains("closed the connection from") && $0.contains("not a hello") })
    }

    @Test func aConnectionThatSaysNothingIsClosedAfterThreeSeconds() {
        let pair = Pair()
        let silent = pair.network.connectLink(host: "10.0.0.1", port: 1)!
        pair.network.pump()
        pair.clock.now += DirectNodeLink.helloTimeout + 1
        pair.a.tick()
        pair.network.pump()
        #expect((silent as! MemorySocket).isClosed)
        #expect(pair.a.counters.snapshot().authRefused == 1)
    }

    @Test func pastTwoHundredFiftySixConnectionsANewOneIsClosedAndCounted() {
        let pair = Pair()
        let sockets = (0...DirectNodeLink.maxInbound).map { _ in pair.network.connectLink(host: "10.0.0.1", port: 1) as! MemorySocket }
        pair.network.pump()
        #expect(sockets.filter(\.isClosed).count == 1 && sockets.last!.isClosed)
        #expect(pair.a.counters.snapshot().authRefused == 1)
        #expect(pair.log.lines.contains { $0.contains("256 link connections are open already") })
    }

    @Test func aFrameThatIsNotANodeMessageIsSkippedAndCountedAndTheNextOneStillArrives() {
        let pair = Pair()
        let socket = pair.network.connectLink(host: "10.0.0.2", port: 2) as! MemorySocket
        pair.network.pump()
        let hello = LinkFrame.frame(LinkHello.hello(tag: "cccccccccccc", token: pair.b.token))
        let good = LinkFrame.frame(NodeMessageCodec.encode(.held(id: 5)))
        _ = socket.write((hello + LinkFrame.frame(Array("not json".utf8)) + good)[...])
        pair.network.pump()
        #expect(pair.receivedB == [.held(id: 5)])
        let counters = pair.b.counters.snapshot()
        #expect(counters.badFrames == 1 && counters.framesReceived == 1 && counters.connections == 1)
        #expect(!socket.isClosed)
    }

    @Test func peersAreLearntFromAnnouncementsAndForgottenWhenTheyStop() {
        let pair = Pair()
        pair.subscribed = true
        pair.a.tick()
        #expect(pair.published.count == 1)
        pair.b.announced(pair.published[0])
        #expect(pair.b.knownPeers == [pair.a.nodeTag])
        // Hearing a new node, B announces itself at once, so A learns of it without waiting 10 s.
        #expect(pair.published.count == 2)
        pair.a.announced(pair.published[1])
        #expect(pair.a.knownPeers == [pair.b.nodeTag])
        #expect(pair.published.count == 3)
        // Its own announcement is not a peer, and a known peer's brings no extra announcement.
        pair.a.announced(pair.published[0])
        pair.a.announced(pair.published[1])
        #expect(pair.a.knownPeers == [pair.b.nodeTag])
        #expect(pair.published.count == 3)
        pair.clock.now += DirectNodeLink.announceEvery
        pair.a.tick()
        #expect(pair.published.count == 4)
        pair.clock.now += DirectNodeLink.forgetAfter - DirectNodeLink.announceEvery + 1
        pair.a.tick()
        #expect(pair.a.knownPeers.isEmpty)
    }

    @Test func twoNodesHeardWithinASecondBothGetAnAnnouncementTheSecondOneLater() {
        let pair = Pair()
        func heard(_ tag: String, port: Int) {
            pair.a.announced(LinkAnnouncement(tag: tag, address: LinkAddress(host: "10.0.0.9", port: port), token: String(repeating: "d", count: 64)).encode(hostID: "x"))
        }
        heard("dddddddddddd", port: 9)
        #expect(pair.published.count == 1)
        pair.clock.now += 300
        heard("eeeeeeeeeeee", port: 10)
        #expect(pair.published.count == 1)
        pair.a.tick()
        #expect(pair.published.count == 1)
        pair.clock.now += 700
        pair.a.tick()
        #expect(pair.published.count == 2)
        pair.clock.now += 1000
        pair.a.tick()
        #expect(pair.published.count == 2)
    }

    @Test func aFloodOfMadeUpNodesIsBoundedAndARealOneIsLearntOnceTheyAreForgotten() {
        let pair = Pair()
        let before = pair.network.sockets.count
        func tag(_ number: Int) -> String {
            let hex = String(number, radix: 16)
            return String(repeating: "0", count: 12 - hex.count) + hex
        }
        for number in 0..<10_000 {
            let address = LinkAddress(host: "10.1.\(number / 250).\(number % 250)", port: 7000)
            pair.a.announced(LinkAnnouncement(tag: tag(number), address: address, token: String(repeating: "e", count: 64)).encode(hostID: "x"))
        }
        #expect(pair.a.knownPeers.count == DirectNodeLink.maxPeers)
        #expect(pair.a.counters.snapshot().peersIgnored == 10_000 - DirectNodeLink.maxPeers)
        // One connection attempt per known node, then one a second each at most.
        #expect(pair.network.sockets.count - before == DirectNodeLink.maxPeers)
        pair.network.pump()
        pair.clock.now += DirectNodeLink.retryAfter
        pair.a.tick()
        #expect(pair.network.sockets.count - before == 2 * DirectNodeLink.maxPeers)
        let ignoredLines = pair.log.lines.filter { $0.contains("nodes are known already") }
        #expect(!ignoredLines.isEmpty && ignoredLines.count <= 10, "\(ignoredLines.count) lines")
        // A real node announced meanwhile is ignored too (its messages take the queue), and learnt once the
        // made-up ones, no longer announced, are forgotten.
        pair.a.announced(pair.announcement(of: pair.b).encode(hostID: "x"))
        #expect(!pair.a.knownPeers.contains(pair.b.nodeTag))
        #expect(pair.a.send(.held(id: 1), to: pair.b.nodeTag))
        #expect(pair.fallbackA.sent.map(\.node) == [pair.b.nodeTag])
        pair.clock.now += DirectNodeLink.forgetAfter + 1
        pair.a.tick()
        #expect(pair.a.knownPeers.isEmpty)
        pair.a.announced(pair.announcement(of: pair.b).encode(hostID: "x"))
        #expect(pair.a.knownPeers == [pair.b.nodeTag])
    }

    @Test func aTickIsAskedForOnlyWhenSomethingFallsDue() {
        let pair = Pair()
        var requested: [Int64] = []
        pair.a.requestTick = { requested.append($0) }
        let start = pair.clock.now
        pair.a.tick()
        #expect(requested == [start + DirectNodeLink.subscriptionCheckEvery])  // not subscribed: look again in a second
        pair.subscribed = true
        pair.a.tick()
        #expect(pair.published.count == 1)
        #expect(requested.last == start + DirectNodeLink.announceEvery)
        // Hearing of B: a connection whose welcome is due within the hello's deadline.
        pair.network.owner = pair.a.nodeTag
        pair.a.announced(pair.announcement(of: pair.b).encode(hostID: "x"))
        #expect(requested.last == start + DirectNodeLink.helloTimeout + 1)
        pair.network.pump()
        #expect(pair.a.isLinked(to: pair.b.nodeTag))
        // Linked and quiet: the next tick is the next announcement, ten seconds on, not a beat.
        let count = requested.count
        pair.clock.now += DirectNodeLink.helloTimeout + 1
        pair.a.tick()
        #expect(requested.count == count + 1)
        #expect(requested.last == start + DirectNodeLink.announceEvery)
        // A link that broke is retried a second later.
        pair.network.sockets.first { $0.isClient && $0.ownerTag == pair.a.nodeTag }?.lost()
        #expect(requested.last == pair.clock.now + DirectNodeLink.retryAfter)
    }

    @Test func aNodeRestartedOnTheSameAddressReplacesTheOldOne() {
        let pair = Pair()
        pair.meet()
        var restarted = pair.announcement(of: pair.b)
        restarted.tag = "cccccccccccc"
        restarted.token = String(repeating: "c", count: 64)
        pair.a.announced(restarted.encode(hostID: "x"))
        #expect(pair.a.knownPeers == ["cccccccccccc"])
        #expect(pair.a.send(.held(id: 1), to: pair.b.nodeTag))
        #expect(pair.fallbackA.sent.map(\.node) == [pair.b.nodeTag])
    }
}

// MARK: In-memory parts

final class ManualMilliseconds { var now: Int64 = 1_000_000 }

final class RecordingLink: NodeLink {
    let nodeTag: String
    var sent: [(message: NodeMessage, node: String)] = []
    init(tag: String) { nodeTag = tag }
    func send(_ message: NodeMessage, to node: String) -> Bool {
        sent.append((message, node))
        return true
    }
}

final class LogLines: @unchecked Sendable {
    var lines: [String] = []
}

/// Two linked nodes, A on 10.0.0.1:1 and B on 10.0.0.2:2, on one memory network.
final class Pair {
    let network = MemoryNetwork()
    let clock = ManualMilliseconds()
    let log = LogLines()
    var published: [[UInt8]] = []
    var subscribed = false
    let fallbackA = RecordingLink(tag: "aaaaaaaaaaaa")
    let fallbackB = RecordingLink(tag: "bbbbbbbbbbbb")
    var receivedB: [NodeMessage] = []
    var a: DirectNodeLink!
    var b: DirectNodeLink!

    init() {
        let lines = log
        let logger = Logger(level: .debug) { line in lines.lines.append(line) }
        a = make(fallbackA, host: "10.0.0.1", port: 1, logger)
        b = make(fallbackB, host: "10.0.0.2", port: 2, logger)
        b.deliver = { [unowned self] in receivedB.append($0) }
    }

    private func make(_ fallback: RecordingLink, host: String, port: Int, _ logger: Logger) -> DirectNodeLink {
        let link = DirectNodeLink(
            nodeTag: fallback.nodeTag, hostID: fallback.nodeTag + String(repeating: "0", count: 20), address: LinkAddress(host: host, port: port),
            network: network, fallback: fallback, publish: { [unowned self] in published.append($0) }, isSubscribed: { [unowned self] in subscribed },
            log: logger, now: { [clock] in clock.now })
        network.owner = fallback.nodeTag
        #expect(link.listen() == nil)
        return link
    }

    func announcement(of link: DirectNodeLink) -> LinkAnnouncement {
        LinkAnnouncement(tag: link.nodeTag, address: link.address, token: link.token)
    }

    /// Each hears the other's announcement; the links come up (unless `pump` is false).
    func meet(pump: Bool = true) {
        network.owner = a.nodeTag
        a.announced(announcement(of: b).encode(hostID: "x"))
        network.owner = b.nodeTag
        b.announced(announcement(of: a).encode(hostID: "x"))
        if pump { network.pump() }
    }
}

/// Sockets in memory: bytes written and closes wait in one queue of events until ``pump()``.
final class MemoryNetwork: LinkNetwork {
    var listeners: [String: (any LinkSocket) -> Void] = [:]
    var events: [() -> Void] = []
    var sockets: [MemorySocket] = []
    /// The tag of the node whose calls come next (which socket is whose, for the tests).
    var owner = ""

    func listenForLinks(host: String, port: Int, accepted: @escaping (any LinkSocket) -> Void) -> String? {
        listeners["\(host):\(port)"] = accepted
        return nil
    }

    func connectLink(host: String, port: Int) -> (any LinkSocket)? {
        let client = MemorySocket(network: self, peerAddress: "\(host):\(port)", isClient: true, ownerTag: owner)
        sockets.append(client)
        guard let accept = listeners["\(host):\(port)"] else {
            events.append { client.lost() }
            return client
        }
        let server = MemorySocket(network: self, peerAddress: "10.9.9.9:\(sockets.count)", isClient: false, ownerTag: "")
        sockets.append(server)
        client.other = server
        server.other = client
        events.append {
            accept(server)
            client.connected = true
            client.handler?.linkSocketWritable(client)
        }
        return client
    }

    func pump() {
        while !events.isEmpty { events.removeFirst()() }
    }
}

final class MemorySocket: LinkSocket {
    weak var handler: (any LinkSocketHandler)?
    let peerAddress: String
    let isClient: Bool
    let ownerTag: String
    unowned let network: MemoryNetwork
    weak var other: MemorySocket?
    var connected: Bool
    private(set) var isClosed = false
    /// Bytes the "kernel" still takes; then writes return 0.
    var budget = Int.max
    var wantsWritable = false
    /// Everything written, write by write.
    var wrote: [[UInt8]] = []

    init(network: MemoryNetwork, peerAddress: String, isClient: Bool, ownerTag: String) {
        self.network = network
        self.peerAddress = peerAddress
        self.isClient = isClient
        self.ownerTag = ownerTag
        connected = !isClient
    }

    func write(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !isClosed else { return nil }
        guard connected else { return 0 }
        let count = min(bytes.count, budget)
        budget -= count
        let data = Array(bytes.prefix(count))
        wrote.append(data)
        if count > 0 {
            network.events.append { [weak other] in
                guard let other, !other.isClosed else { return }
                other.handler?.linkSocket(other, received: data)
            }
        }
        return count
    }

    func wantWritable() { wantsWritable = true }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        network.events.append { [weak other] in other?.lost() }
    }

    func lost() {
        guard !isClosed else { return }
        isClosed = true
        handler?.linkSocketClosed(self, reason: "closed by the other end")
    }
}
