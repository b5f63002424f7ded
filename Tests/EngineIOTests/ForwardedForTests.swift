import Testing

@testable import EngineIO

/// `X-Forwarded-For` and `Forwarded` (RFC 7239), and which hop of them is the client.
@Suite struct ForwardedForTests {
    private func address(_ text: String) -> ForwardedFor.Hop { .address(IPAddress(text)!) }

    @Test func xForwardedForListsItsHopsInOrder() {
        #expect(ForwardedFor.xForwardedFor("203.0.113.7") == [address("203.0.113.7")])
        #expect(ForwardedFor.xForwardedFor("203.0.113.7, 10.0.0.1,10.0.0.2") == [address("203.0.113.7"), address("10.0.0.1"), address("10.0.0.2")])
        #expect(ForwardedFor.xForwardedFor(" 2001:db8::1 ,\t198.51.100.1:4711") == [address("2001:db8::1"), address("198.51.100.1")])
        #expect(ForwardedFor.xForwardedFor("[2001:db8::1]:443, [2001:db8::2], \"192.0.2.1\"") == [address("2001:db8::1"), address("2001:db8::2"), address("192.0.2.1")])
        #expect(ForwardedFor.xForwardedFor("unknown, , evil\r\n, 1.2.3.4:123456, [::1]x") == [.unknown, .unknown, .unknown, .unknown, .unknown])
        #expect(ForwardedFor.xForwardedFor("") == [.unknown])
    }

    @Test func forwardedTakesEachElementsForParameter() {
        #expect(ForwardedFor.forwarded("for=192.0.2.43") == [address("192.0.2.43")])
        #expect(ForwardedFor.forwarded("For=\"[2001:db8:cafe::17]:4711\"") == [address("2001:db8:cafe::17")])
        #expect(
            ForwardedFor.forwarded("for=192.0.2.43, for=198.51.100.17;by=203.0.113.60;proto=http;host=example.com")
                == [address("192.0.2.43"), address("198.51.100.17")])
        #expect(ForwardedFor.forwarded("proto=https;for=10.0.0.1 ; by=x") == [address("10.0.0.1")])
        // RFC 7239's own examples of what is not an address.
        #expect(ForwardedFor.forwarded("for=unknown, for=_hidden, for=\"_SEVKISEK\"") == [.unknown, .unknown, .unknown])
        // A comma or semicolon inside quotes does not split; escapes are undone.
        #expect(ForwardedFor.forwarded("host=\"a,b;c\";for=\"1.2.3\\.4\", for=5.6.7.8") == [address("1.2.3.4"), address("5.6.7.8")])
    }

    @Test func brokenForwardedElementsAreUnknownHops() {
        #expect(ForwardedFor.forwarded("by=10.0.0.1") == [.unknown])  // no for=
        #expect(ForwardedFor.forwarded("for") == [.unknown])
        #expect(ForwardedFor.forwarded("for=1.2.3.4;for=5.6.7.8") == [.unknown])  // two clients in one hop
        #expect(ForwardedFor.forwarded("for=\"1.2.3.4, for=5.6.7.8") == [.unknown])  // an open quote takes the rest
        #expect(ForwardedFor.forwarded("f(r=1.2.3.4, for=5.6.7.8") == [.unknown, address("5.6.7.8")])
        #expect(ForwardedFor.forwarded("for=[2001:db8::1]") == [.unknown])  // brackets are not a token: must be quoted
        #expect(ForwardedFor.forwarded("for=\"1.2.3.4\"x") == [.unknown])
        #expect(ForwardedFor.forwarded("") == [.unknown])
    }

    @Test func theRightMostUntrustedHopIsTheClient() throws {
        let proxies = try TrustedProxies(parsing: "127.0.0.1/32, 10.0.0.0/8")
        // From a trusted proxy: the nearest hop that is not a proxy.
        #expect(proxies.client(socketPeer: "127.0.0.1", xForwardedFor: "203.0.113.7", forwarded: nil) == "203.0.113.7")
        #expect(proxies.client(socketPeer: "127.0.0.1", xForwardedFor: "6.6.6.6, 203.0.113.7, 10.1.1.1", forwarded: nil) == "203.0.113.7")
        // Every hop a proxy: the left-most.
        #expect(proxies.client(socketPeer: "127.0.0.1", xForwardedFor: "10.0.0.9, 10.1.1.1", forwarded: nil) == "10.0.0.9")
        // A hop that is not an address stops the walk at the nearest known address.
        #expect(proxies.client(socketPeer: "127.0.0.1", xForwardedFor: "203.0.113.7, unknown, 10.1.1.1", forwarded: nil) == "10.1.1.1")
        #expect(proxies.client(socketPeer: "127.0.0.1", xForwardedFor: "garbage", forwarded: nil) == "127.0.0.1")
        // No header: the proxy itself.
        #expect(proxies.client(socketPeer: "127.0.0.1", xForwardedFor: nil, forwarded: nil) == "127.0.0.1")
        // Forwarded when there is no X-Forwarded-For; X-Forwarded-For when there are both.
        #expect(proxies.client(socketPeer: "127.0.0.1", xForwardedFor: nil, forwarded: "for=\"[2001:DB8::7]\"") == "2001:db8::7")
        #expect(proxies.client(socketPeer: "127.0.0.1", xForwardedFor: "198.51.100.1", forwarded: "for=192.0.2.9") == "198.51.100.1")
        // From anyone else the headers are not believed.
        #expect(proxies.client(socketPeer: "127.0.0.2", xForwardedFor: "203.0.113.7", forwarded: nil) == "127.0.0.2")
        #expect(proxies.client(socketPeer: "(disconnected)", xForwardedFor: "203.0.113.7", forwarded: nil) == "(disconnected)")
        #expect(TrustedProxies().client(socketPeer: "127.0.0.1", xForwardedFor: "203.0.113.7", forwarded: nil) == "127.0.0.1")
        #expect(proxies.trusts(socketPeer: "10.2.3.4") && !proxies.trusts(socketPeer: "127.0.0.2") && !TrustedProxies().trusts(socketPeer: "127.0.0.1"))
    }

    @Test func aBadTrustedProxiesListNamesTheElement() throws {
        #expect(throws: TrustedProxiesError(element: "10.0.0.1/8", problem: .hostBitsSet(meant: "10.0.0.0/8"))) {
            try TrustedProxies(parsing: "127.0.0.1, 10.0.0.1/8")
        }
        #expect(throws: TrustedProxiesError(element: "", problem: .notAnAddress)) { try TrustedProxies(parsing: "127.0.0.1,") }
        #expect(try TrustedProxies(parsing: " ::1/128 ,\t192.168.0.0/16").networks.map(\.description) == ["::1/128", "192.168.0.0/16"])
    }
}
