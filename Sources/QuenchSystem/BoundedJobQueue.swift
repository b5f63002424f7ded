/// The jobs other threads hand to the service thread, with a bound: at most ``capacity`` jobs and
/// ``byteBudget`` bytes of what they carry wait at once.
///
/// Why: the reminder thread and the Redis subscriber post work whenever they like; if the service thread
/// falls behind (a large fan-out, a flood on the Redis channel), an unbounded list would grow without
/// limit. At the bound a new job is refused and counted (the jobs already waiting keep their order);
/// the count is handed to the service thread with the next ``takeAll()``, so it logs one line per episode
/// (an episode ends when the service thread catches up), never one per job.
///
/// Urgent jobs (a stop request) are never refused: there is one per signal, and dropping one would leave
/// a server that cannot be stopped.
public final class BoundedJobQueue<Job: Sendable>: Sendable {
    /// What a full queue refused since the last ``takeAll()``.
    public struct Drops: Equatable, Sendable {
        /// Jobs refused.
        public var jobs = 0
        /// The bytes they carried (as their posters declared).
        public var bytes = 0
    }

    private struct State {
        var jobs: [Job] = []
        var bytes = 0
        var drops = Drops()
    }

    /// The most jobs that wait at once (urgent ones aside).
    public let capacity: Int
    /// The most bytes the waiting jobs may carry together (urgent ones aside).
    public let byteBudget: Int
    private let state = Lock(State())

    /// - Parameters:
    ///   - capacity: the most jobs that wait at once; default 10 000.
    ///   - byteBudget: the most bytes they may carry together; default 64 MiB.
    public init(capacity: Int = 10_000, byteBudget: Int = 64 << 20) {
        self.capacity = capacity
        self.byteBudget = byteBudget
    }

    /// Any thread: queues `job`, which carries `bytes` bytes (a message's payload; 0 for a small job), unless
    /// the queue is at its bound. Returns whether it was queued; a refusal is counted.
    @discardableResult
    public func append(_ job: Job, bytes: Int = 0) -> Bool {
        state.withLock { state in
            guard state.jobs.count < capacity, bytes <= byteBudget - state.bytes else {
                state.drops.jobs += 1
                state.drops.bytes += bytes
                return false
            }
            state.jobs.append(job)
            state.bytes += bytes
            return true
        }
    }

    /// Any thread: like ``append(_:bytes:)``, and says whether the consumer must be woken: only for a job that
    /// found the queue empty. One waiting already means a wake-up is on its way, and the consumer takes
    /// every job at once (``takeAll()``, under the same lock), so a burst of jobs costs one wake-up, not one each.
    public func appendWakingIfFirst(_ job: Job, bytes: Int = 0) -> (accepted: Bool, wake: Bool) {
        state.withLock { state in
            guard state.jobs.count < capacity, bytes <= byteBudget - state.bytes else {
                state.drops.jobs += 1
                state.drops.bytes += bytes
                return (false, false)
            }
            state.jobs.append(job)
            state.bytes += bytes
            return (true, state.jobs.count == 1)
        }
    }

    /// Any thread: queues `job` whatever the bound (a stop request). It runs after the jobs already waiting.
    public func appendUrgent(_ job: Job) {
        state.withLock { $0.jobs.append(job) }
    }

    /// The service thread: every waiting job, in order, and what was refused since the last call (the
    /// episode, now over: the queue is empty again).
    public func takeAll() -> (jobs: [Job], drops: Drops) {
        state.withLock { state in
            let taken = (state.jobs, state.drops)
            state.jobs = []
            state.bytes = 0
            state.drops = Drops()
            return taken
        }
    }

    /// Forgets every waiting job (the server is going away); refusals are forgotten too.
    public func removeAll() {
        _ = takeAll()
    }

    /// How many jobs wait now.
    public var count: Int { state.withLock { $0.jobs.count } }
}
