import Testing

@testable import QuenchMessageQueue

@Suite struct PublishQueueTests {
    private func payload(_ byte: UInt8, size: Int = 1) -> [UInt8] { [UInt8](repeating: byte, count: size) }

    @Test func batchesComeOutOldestFirstAndAtMostTheLimit() {
        var queue = PublishQueue(capacity: 100)
        for byte in 0..<10 { #expect(queue.append(payload(UInt8(byte))) == 0) }
        #expect(queue.takeBatch(limit: 4).map { $0.payload[0] } == [0, 1, 2, 3])
        #expect(queue.takeBatch(limit: 100).map { $0.payload[0] } == [4, 5, 6, 7, 8, 9])
        #expect(queue.isEmpty)
        #expect(queue.bytes == 0)
    }

    @Test func pastTheCapacityTheOldestAreDroppedAndCounted() {
        var queue = PublishQueue(capacity: 3)
        for byte in UInt8(0)..<3 { _ = queue.append(payload(byte)) }
        #expect(queue.append(payload(3)) == 1)
        #expect(queue.append(payload(4)) == 1)
        #expect(queue.takeBatch(limit: 10).map { $0.payload[0] } == [2, 3, 4])
        #expect(queue.takeDropped() == 2)
        #expect(queue.takeDropped() == 0)  // the count starts again
    }

    @Test func pastTheByteBudgetTheOldestAreDropped() {
        var queue = PublishQueue(capacity: 100, byteBudget: 10)
        _ = queue.append(payload(0, size: 4))
        _ = queue.append(payload(1, size: 4))
        #expect(queue.append(payload(2, size: 2)) == 0)  // exactly at the budget
        #expect(queue.append(payload(3, size: 5)) == 2)  // 15 bytes: the two oldest go
        #expect(queue.bytes == 7)
        #expect(queue.takeBatch(limit: 10).map { $0.payload[0] } == [2, 3])
        #expect(queue.dropped == 2)
    }

    @Test func aPayloadLargerThanTheBudgetDropsItselfAndIsCounted() {
        var queue = PublishQueue(capacity: 100, byteBudget: 10)
        _ = queue.append(payload(0, size: 3))
        #expect(queue.append(payload(1, size: 11)) == 2)
        #expect(queue.isEmpty)
        #expect(queue.takeDropped() == 2)
    }

    @Test func aBatchPutBackGoesFirstInItsOrder() {
        var queue = PublishQueue(capacity: 100)
        for byte in UInt8(0)..<5 { _ = queue.append(payload(byte)) }
        let batch = queue.takeBatch(limit: 3)
        _ = queue.append(payload(5))
        #expect(queue.putBack(batch) == 0)
        #expect(queue.takeBatch(limit: 100).map { $0.payload[0] } == [0, 1, 2, 3, 4, 5])
        #expect(queue.takeDropped() == 0)  // a failed send loses nothing within the bound
    }

    @Test func aBatchPutBackIntoAFullQueueDropsItsOldestAndCountsThem() {
        var queue = PublishQueue(capacity: 4)
        for byte in UInt8(0)..<4 { _ = queue.append(payload(byte)) }
        let batch = queue.takeBatch(limit: 3)  // 0 1 2 in flight
        for byte in UInt8(4)..<7 { _ = queue.append(payload(byte)) }  // 3 4 5 6 waiting
        #expect(queue.putBack(batch) == 3)
        #expect(queue.takeBatch(limit: 100).map { $0.payload[0] } == [3, 4, 5, 6])
        #expect(queue.takeDropped() == 3)
    }

    @Test func aLongRunOfAppendsAndTakesKeepsOrderAndBytes() {
        var queue = PublishQueue(capacity: 5000)
        var taken: [Int] = []
        var next = 0
        for round in 0..<200 {
            for _ in 0..<(round % 7 + 20) {
                _ = queue.append(withUnsafeBytes(of: next) { Array($0) })
                next += 1
            }
            taken += queue.takeBatch(limit: 512).map { $0.payload.withUnsafeBytes { $0.load(as: Int.self) } }
        }
        taken += queue.takeBatch(limit: .max).map { $0.payload.withUnsafeBytes { $0.load(as: Int.self) } }
        #expect(taken == Array(0..<next))
        #expect(queue.bytes == 0)
    }

    @Test func defaultsAreTenThousandMessagesAnd64MiB() {
        let queue = PublishQueue()
        #expect(queue.capacity == 10_000)
        #expect(queue.byteBudget == 64 << 20)
    }
}

@Suite struct PublishQueueRoomTests {
    @Test func aMessageForOneNodeIsRefusedRatherThanDroppingOthers() {
        var queue = PublishQueue(capacity: 2)
        _ = queue.append([1])
        let fitted = queue.appendIfRoom(PublishQueue.Item(payload: [2], channel: Array("c".utf8)))
        let overflowed = queue.appendIfRoom(PublishQueue.Item(payload: [3], channel: Array("c".utf8)))
        #expect(fitted)
        #expect(!overflowed)
        #expect(queue.takeDropped() == 0)
        #expect(queue.takeBatch(limit: 10).map(\.channel) == [nil, Array("c".utf8)])
    }
}
