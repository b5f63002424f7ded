import Testing

@testable import QuenchRedis

/// Which pipelined PUBLISH commands a partial write handed to the kernel in full.
struct CommandsWholeTests {
    @Test func commandsWholeCountsOnlyCommandsTheKernelTookInFull() {
        let ends = [10, 20, 30]
        #expect(RedisPublisher.commandsWhole(ends: ends, handedOver: 0) == 0)
        #expect(RedisPublisher.commandsWhole(ends: ends, handedOver: 9) == 0)
        #expect(RedisPublisher.commandsWhole(ends: ends, handedOver: 10) == 1)
        #expect(RedisPublisher.commandsWhole(ends: ends, handedOver: 29) == 2)
        #expect(RedisPublisher.commandsWhole(ends: ends, handedOver: 30) == 3)
        #expect(RedisPublisher.commandsWhole(ends: [], handedOver: 5) == 0)
    }
}
