import Testing

@testable import QuenchSystem

@Suite struct BoundedJobQueueTests {
    @Test func jobsComeOutInTheOrderTheyWentIn() {
        let queue = BoundedJobQueue<Int>(capacity: 10)
        for job in 1...5 { #expect(queue.append(job)) }
        let (jobs, drops) = queue.takeAll()
        #expect(jobs == [1, 2, 3, 4, 5])
        #expect(drops == .init())
        #expect(queue.count == 0)
    }

    @Test func pastTheCapacityNewJobsAreRefusedAndCounted() {
        let queue = BoundedJobQueue<Int>(capacity: 3)
        for job in 1...3 { #expect(queue.append(job)) }
        #expect(!queue.append(4))
        #expect(!queue.append(5, bytes: 10))
        let (jobs, drops) = queue.takeAll()
        #expect(jobs == [1, 2, 3])  // the waiting ones keep their place
        #expect(drops == .init(jobs: 2, bytes: 10))
    }

    @Test func theByteBudgetRefusesAJobThatWouldPassIt() {
        let queue = BoundedJobQueue<Int>(capacity: 100, byteBudget: 1000)
        #expect(queue.append(1, bytes: 600))
        #expect(queue.append(2, bytes: 400))  // exactly at the budget
        #expect(!queue.append(3, bytes: 1))
        #expect(!queue.append(4, bytes: 5000))
        let (jobs, drops) = queue.takeAll()
        #expect(jobs == [1, 2])
        #expect(drops == .init(jobs: 2, bytes: 5001))
    }

    @Test func takingEverythingEndsTheEpisode() {
        let queue = BoundedJobQueue<Int>(capacity: 1, byteBudget: 10)
        queue.append(1, bytes: 10)
        queue.append(2)
        #expect(queue.takeAll().drops.jobs == 1)
        // Room again: both the count and the bytes were given back.
        #expect(queue.append(3, bytes: 10))
        let (jobs, drops) = queue.takeAll()
        #expect(jobs == [3])
        #expect(drops == .init())  // the next episode starts from zero
    }

    @Test func anUrgentJobIsNeverRefused() {
        let queue = BoundedJobQueue<String>(capacity: 2, byteBudget: 0)
        queue.append("a")
        queue.append("b")
        #expect(!queue.append("c"))
        queue.appendUrgent("stop")
        let (jobs, drops) = queue.takeAll()
        #expect(jobs == ["a", "b", "stop"])
        #expect(drops.jobs == 1)
    }

    @Test func defaultsAreTenThousandJobsAnd64MiB() {
        let queue = BoundedJobQueue<Int>()
        #expect(queue.capacity == 10_000)
        #expect(queue.byteBudget == 64 << 20)
    }

    @Test func manyThreadsPostingAtOnceLoseNothingBelowTheBound() async {
        let queue = BoundedJobQueue<Int>(capacity: 100_000)
        await withTaskGroup(of: Void.self) { group in
            for thread in 0..<8 {
                group.addTask { for index in 0..<1000 { queue.append(thread * 1000 + index) } }
            }
        }
        let (jobs, drops) = queue.takeAll()
        #expect(Set(jobs) == Set(0..<8000))
        #expect(drops.jobs == 0)
    }
}
