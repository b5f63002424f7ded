import Testing

@testable import EngineIO

/// Addresses and CIDR blocks, parsed and written without the C library.
@Suite struct IPAddressTests {
    @Test func ipv4AddressesParseStrictly() {
        #expect(IPAddress("192.0.2.1")?.description == "192.0.2.1")
        #expect(IPAddress("0.0.0.0")?.description == "0.0.0.0")
        #expect(IPAddress("255.255.255.255")?.family == .v4)
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", "1.2.3.4 ", " 1.2.3.4", "a.b.c.d", "1.2.3.-4", "1.2.3.4/8", "1234.1.1.1"] {
            #expect(IPAddress(bad) == nil, "\(bad) parsed")
        }
    }

    @Test func ipv6AddressesParseAndAreWrittenCanonically() {
        let cases: [(String, String)] = [
            ("2001:db8::1", "2001:db8::1"),
            ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  // the first of two equal runs
            ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),  // the longest run
            ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6"),
            ("2001:db8::0:1", "2001:db8::1"),
            ("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"),  // a single zero group is not compressed
            ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
        ]
        for (text, canonical) in cases {
            #expect(IPAddress(text)?.description == canonical, "\(text)")
            #expect(IPAddress(canonical) == IPAddress(text))
        }
        for bad in [":", ":::", "1:::2", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "g::1", "fe80::1%eth0", "::1.2.3", "1.2.3.4::", "::ffff:1.2.3.4:5", "[::1]", "1:2:3:4:5:6:7::8"] {
            #expect(IPAddress(bad) == nil, "\(bad) parsed")
        }
        #expect(IPAddress(String(repeating: "0", count: 80) + "::1") == nil)
    }

    @Test func anIPv4MappedAddressIsTheIPv4Address() {
        #expect(IPAddress("::ffff:192.0.2.1") == IPAddress("192.0.2.1"))
        #expect(IPAddress("::FFFF:c000:0201")?.description == "192.0.2.1")
    }

    @Test func cidrBlocksParseAndMatchTheirFamilyOnly() throws {
        let v4 = try IPNetwork(parsing: "10.0.0.0/8")
        #expect(v4.contains(IPAddress("10.255.0.1")!) && !v4.contains(IPAddress("11.0.0.1")!))
        #expect(!v4.contains(IPAddress("::ffff:b00:1")!))
        #expect(v4.contains(IPAddress("::ffff:10.1.2.3")!))  // the same client, written the dual-stack way
        let host = try IPNetwork(parsing: "127.0.0.1")
        #expect(host.bits == 32 && host.contains(IPAddress("127.0.0.1")!) && !host.contains(IPAddress("127.0.0.2")!))
        let v6 = try IPNetwork(parsing: "fd00::/8")
        #expect(v6.contains(IPAddress("fd12:3456::1")!) && !v6.contains(IPAddress("fe80::1")!) && !v6.contains(IPAddress("10.0.0.1")!))
        let odd = try IPNetwork(parsing: "2001:db8:8000::/33")
        #expect(odd.contains(IPAddress("2001:db8:ffff::1")!) && !odd.contains(IPAddress("2001:db8:7fff::1")!))
        let all = try IPNetwork(parsing: "0.0.0.0/0")
        #expect(all.contains(IPAddress("203.0.113.9")!) && !all.contains(IPAddress("::1")!))
        #expect(try IPNetwork(parsing: "::/0").contains(IPAddress("2001:db8::1")!))
        #expect(try IPNetwork(parsing: "::1/128").contains(IPAddress("::1")!))
        #expect(try IPNetwork(parsing: "2001:db8::/64").description == "2001:db8::/64")
    }

    @Test func badCIDRBlocksSayWhy() {
        #expect(throws: IPNetwork.ParseError.hostBitsSet(meant: "10.0.0.0/8")) { try IPNetwork(parsing: "10.0.0.1/8") }
        #expect(throws: IPNetwork.ParseError.hostBitsSet(meant: "2001:db8::/32")) { try IPNetwork(parsing: "2001:db8::1/32") }
        #expect(throws: IPNetwork.ParseError.badPrefixLength(max: 32)) { try IPNetwork(parsing: "10.0.0.0/33") }
        #expect(throws: IPNetwork.ParseError.badPrefixLength(max: 128)) { try IPNetwork(parsing: "::/129") }
        #expect(throws: IPNetwork.ParseError.badPrefixLength(max: 32)) { try IPNetwork(parsing: "10.0.0.0/") }
        #expect(throws: IPNetwork.ParseError.badPrefixLength(max: 32)) { try IPNetwork(parsing: "10.0.0.0/+8") }
        #expect(throws: IPNetwork.ParseError.notAnAddress) { try IPNetwork(parsing: "example.com/8") }
        #expect(throws: IPNetwork.ParseError.notAnAddress) { try IPNetwork(parsing: "") }
    }
}
