import Testing

@testable import QuenchLWS

/// The lws scratch buffer grows for a large write and shrinks back after it (issue 11: it used to keep its
/// largest size for ever).
@Suite struct ScratchBufferTests {
    private let base = LWSServer.baseWriteCapacity

    @Test func ordinaryWritesKeepTheRestingSize() {
        #expect(LWSServer.scratchCapacity(current: base, needed: 100) == nil)
        #expect(LWSServer.scratchCapacity(current: base, needed: base) == nil)
    }

    @Test func aLargeWriteGrowsIt() {
        #expect(LWSServer.scratchCapacity(current: base, needed: base + 1) == 2 * base)
        #expect(LWSServer.scratchCapacity(current: base, needed: 1_000_000) == 1_000_000)
    }

    @Test func itStaysLargeWhileLargeWritesContinue() {
        #expect(LWSServer.scratchCapacity(current: 1_000_000, needed: 900_000) == nil)
        #expect(LWSServer.scratchCapacity(current: 1_000_000, needed: 200_000) == nil)
    }

    @Test func theNextSmallWriteGivesItBack() {
        #expect(LWSServer.scratchCapacity(current: 1_000_000, needed: 200) == base)
        #expect(LWSServer.scratchCapacity(current: 2 * base, needed: base) == base)
        #expect(LWSServer.scratchCapacity(current: 16_000_000, needed: 1_000_000) == 1_000_000)
    }
}
