import EngineIO
import QuenchMessageQueue

/// What another node (or anyone who reaches a `--node-link` port) sends: the bytes of one inbound connection,
/// fed to a real ``DirectNodeLink`` through an in-memory socket in pieces whose size the first byte picks,
/// and every frame they hold also decoded as a channel announcement.
///
/// Never traps; the stream cut into frames whole and in pieces gives the same frames; a connection whose
/// first frame is not a hello naming the token gets no welcome and is closed; what decodes as an
/// announcement encodes and decodes to the same one. The corpus's hello names ``token``.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNodeLink(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else { return 0 }
    let stream = Array(bytes.dropFirst())
    let piece = Int(first % 64) + 1

    // Frames: whole and in pieces agree.
    var whole = LinkFrame.Reader(maxLength: 1 << 20)
    whole.append(stream)
    let wholeFrames = frames(&whole)
    var split = LinkFrame.Reader(maxLength: 1 << 20)
    var splitFrames: [[UInt8]] = []
    var failed = false
    for start in stride(from: 0, to: stream.count, by: piece) where !failed {
        split.append(Array(stream[start..<min(start + piece, stream.count)]))
        let (got, threw) = framesOrThrow(&split)
        splitFrames += got
        failed = threw
    }
    Fuzz.check(splitFrames == wholeFrames.frames && failed == wholeFrames.threw, "frames differ when the stream comes in pieces of \(piece)")
    for frame in wholeFrames.frames {
        if let announcement = try? LinkAnnouncement.decode(frame) {
            let again = try? LinkAnnouncement.decode(announcement.encode(hostID: "fuzz"))
            Fuzz.check(again == announcement, "announcement round trip changed \(announcement)")
        }
    }

    // A real link's inbound side.
    let network = FuzzNetwork()
    let link = DirectNodeLink(
        nodeTag: "aaaaaaaaaaaa", hostID: "aaaaaaaaaaaa00000000000000000000", address: LinkAddress(host: "10.0.0.1", port: 1), network: network,
        fallback: NullLink(), publish: { _ in }, isSubscribed: { false }, log: Logger(level: .error) { _ in }, token: token, now: { 0 })
    var delivered = 0
    link.deliver = { _ in delivered += 1 }
    _ = link.listen()
    let socket = FuzzSocket()
    network.accept?(socket)
    for start in stride(from: 0, to: stream.count, by: piece) where !socket.closed {
        socket.handler?.linkSocket(socket, received: Array(stream[start..<min(start + piece, stream.count)]))
    }
    let helloOK = wholeFrames.frames.first.flatMap(LinkHello.parseHello).map { $0.token == Array(token.utf8) && $0.tag != "aaaaaaaaaaaa" } ?? false
    if !helloOK && !wholeFrames.frames.isEmpty {
        Fuzz.check(socket.closed && socket.written.isEmpty, "a connection without the right hello was not closed, or was welcomed")
        Fuzz.check(delivered == 0, "a message was delivered without the right hello")
    }
    return 0
}

private let token = String(repeating: "5a", count: 32)

private func frames(_ reader: inout LinkFrame.Reader) -> (frames: [[UInt8]], threw: Bool) { framesOrThrow(&reader) }

private func framesOrThrow(_ reader: inout LinkFrame.Reader) -> ([[UInt8]], Bool) {
    var out: [[UInt8]] = []
    do {
        while let frame = try reader.next() { out.append(frame) }
    } catch { return (out, true) }
    return (out, false)
}

private final class NullLink: NodeLink {
    let nodeTag = "aaaaaaaaaaaa"
    func send(_ message: NodeMessage, to node: String) -> Bool { true }
}

private final class FuzzNetwork: LinkNetwork {
    var accept: ((any LinkSocket) -> Void)?
    func listenForLinks(host: String, port: Int, accepted: @escaping (any LinkSocket) -> Void) -> String? {
        accept = accepted
        return nil
    }
    func connectLink(host: String, port: Int) -> (any LinkSocket)? { nil }
}

private final class FuzzSocket: LinkSocket {
    weak var handler: (any LinkSocketHandler)?
    let peerAddress = "10.9.9.9:1"
    var closed = false
    var written: [UInt8] = []
    func write(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !closed else { return nil }
        written += bytes
        return bytes.count
    }
    func wantWritable() {}
    func close() { closed = true }
}
