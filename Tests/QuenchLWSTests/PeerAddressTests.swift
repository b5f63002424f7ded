import EngineIO
import Testing

@testable import QuenchLWS

/// The IPv4 peer of every request is printed by hand (issue 26: the text and IPAddress round trip was a
/// sixth of a polling reply's cost); it must read exactly as IPAddress prints the same address, which the
/// per-address limits and every log line use as the client's key.
@Suite struct PeerAddressTests {
    @Test(arguments: ["0.0.0.0", "127.0.0.1", "10.0.0.255", "192.168.100.9", "255.255.255.255", "1.20.100.200", "99.9.199.0"])
    func dottedMatchesIPAddress(_ text: String) throws {
        let address = try #require(IPAddress(text))
        let value = text.split(separator: ".").reduce(UInt32(0)) { $0 << 8 | UInt32($1)! }
        #expect(LWSRequestReader.dotted(value) == address.description)
        #expect(LWSRequestReader.dotted(value) == text)
    }
}
