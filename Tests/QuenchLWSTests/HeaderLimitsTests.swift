import Testing

@testable import QuenchLWS

@Suite struct HeaderLimitsTests {
    @Test("lws's line about a cut header names the header's index")
    func truncationLine() {
        #expect(HeaderLimits.truncatedToken(inLWSLine: "header 26 exceeds limit 16384") == 26)
        #expect(HeaderLimits.truncatedToken(inLWSLine: "Ran out of header data space") == nil)
        #expect(HeaderLimits.truncatedToken(inLWSLine: "header x exceeds limit 1") == nil)
    }

    @Test("every header lws knows gets the per-header limit, well inside the whole area")
    func tokenTable() {
        let limits = HeaderLimits.makeTokenLimits()
        defer { limits.deallocate() }
        let values = withUnsafeBytes(of: limits.pointee.token_limit) { Array($0.bindMemory(to: UInt16.self)) }
        #expect(!values.isEmpty && values.allSatisfy { Int($0) == HeaderLimits.perHeader })
        #expect(HeaderLimits.perHeader * 2 <= HeaderLimits.total)
    }
}
