import EngineIO
import EngineIOTesting

/// `X-Forwarded-For` and `Forwarded` values, the addresses in them, and `--trusted-proxies` lists: all
/// written by strangers (a client writes whatever it likes left of the proxy's own hop).
///
/// 1. The bytes as either header parse into hops without trapping; every address a hop names is written in
///    its canonical text, which parses back to the same address, writes the same again, and reads back as
///    the same hop from both headers (`for="[v6]"` in `Forwarded`).
/// 2. The client chosen for a request from a trusted proxy is the proxy itself or an address the header
///    names, never anything else; from an untrusted peer it is the peer, whatever the header says.
/// 3. The bytes as an address, a CIDR and a `--trusted-proxies` list parse or are refused; a block parsed
///    contains its own prefix, its text parses back to the same block, and the limits' grouping of the
///    text is stable.
/// 4. The engine: a handshake whose peer is the chosen client gets a status, and no session outlives time.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzForwarded(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let proxy = "10.0.0.1"
    let proxies = TrustedProxies([try! IPNetwork(parsing: "10.0.0.0/8"), try! IPNetwork(parsing: "fd00::/8")])

    var named: [IPAddress] = []
    for hops in [ForwardedFor.xForwardedFor(text), ForwardedFor.forwarded(text)] {
        Fuzz.check(!hops.isEmpty, "no hop at all for a value")
        for case .address(let address) in hops {
            named.append(address)
            let written = address.description
            Fuzz.check(IPAddress(written) == address, "\(written) does not read back as itself")
            Fuzz.check(IPAddress(written)?.description == written, "\(written) is not stable")
            let bracketed = address.family == .v6 ? "\"[\(written)]\"" : written
            Fuzz.check(ForwardedFor.forwarded("for=\(bracketed)") == [.address(address)], "for=\(bracketed) does not read back")
            Fuzz.check(ForwardedFor.xForwardedFor(written) == [.address(address)], "\(written) as X-Forwarded-For does not read back")
        }
    }

    let fromProxy = [
        proxies.client(socketPeer: proxy, xForwardedFor: text, forwarded: nil),
        proxies.client(socketPeer: proxy, xForwardedFor: nil, forwarded: text),
    ]
    for client in fromProxy {
        Fuzz.check(client == proxy || named.contains { $0.description == client }, "client \(client) is neither the proxy nor a named hop")
    }
    Fuzz.check(proxies.client(socketPeer: "192.0.2.1", xForwardedFor: text, forwarded: text) == "192.0.2.1", "an untrusted peer's header was believed")

    if let address = IPAddress(text) {
        Fuzz.check(IPAddress(address.description) == address, "\(text) → \(address) does not read back")
    }
    if let network = try? IPNetwork(parsing: text) {
        Fuzz.check(network.contains(network.prefix), "\(network) does not contain its prefix")
        Fuzz.check((try? IPNetwork(parsing: network.description)) == network, "\(network) does not read back")
    }
    if let list = try? TrustedProxies(parsing: text) {
        Fuzz.check(!list.isEmpty, "an empty list parsed")
        for network in list.networks { Fuzz.check(list.contains(network.prefix), "\(network) not in its own list") }
    }

    let server = FuzzServer()
    for peer in fromProxy {
        let responder = RecordingResponder()
        server.engine.handle(
            HTTPRequest(method: .get, path: "/socket.io/", query: QueryParameters("EIO=4&transport=polling"), peer: peer),
            responder: responder, onAbandon: { _ in })
        Fuzz.check(responder.status == 200, "a handshake from \(peer) got \(String(describing: responder.status))")
    }
    server.expireEverything()
    return 0
}
