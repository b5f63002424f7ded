import CLibWebSockets
import EngineIO
import QuenchSystem

/// The one door into the service thread for other threads (the reminder thread, the Redis subscriber, the
/// signal thread): a ``BoundedJobQueue`` plus `lws_cancel_service`, the only lws call that is safe off the
/// service thread.
///
/// Bounded: at most 10 000 jobs and 64 MiB of the messages they carry wait at once; past that a job is
/// refused and counted, and the service thread logs one line per episode when it catches up. A stop
/// request is never refused.
final class ServiceInbox: ServiceExecutor, @unchecked Sendable {  // Sendable: `jobs` and `context` are each behind their own lock; `log` is touched on the service thread only
    typealias Job = @Sendable () -> Void

    private let jobs: BoundedJobQueue<Job>
    /// Set once the context exists; read under the same lock so no job can slip past `close`.
    /// Stored as a bit pattern: a raw pointer is not Sendable, an integer is.
    private let context = Lock<UInt>(0)
    /// Where a full inbox is reported. Service thread only (set in ``open(context:log:)``, read in ``drain()``).
    private var log = Logger(level: .warn)

    /// - Parameters:
    ///   - capacity: the most jobs waiting at once; default 10 000.
    ///   - byteBudget: the most message bytes they may carry together; default 64 MiB.
    init(capacity: Int = 10_000, byteBudget: Int = 64 << 20) {
        jobs = BoundedJobQueue(capacity: capacity, byteBudget: byteBudget)
    }

    /// Binds the inbox to a live context. Service thread, before `lws_service` runs and before other
    /// threads start posting.
    func open(context: OpaquePointer, log: Logger) {
        self.log = log
        self.context.withLock { $0 = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(context))) }
    }

    /// Unbinds before `lws_context_destroy`, so late posts neither wake a dead context nor run.
    func close() {
        context.withLock { $0 = 0 }
        jobs.removeAll()
    }

    /// Any thread: queue `job` and wake the service thread. Jobs run in the order posted.
    func execute(_ job: @escaping @Sendable () -> Void) {
        execute(bytes: 0, job)
    }

    /// Any thread: queue `job`, which carries `bytes` of data, unless the inbox is at its bound.
    func execute(bytes: Int, _ job: @escaping @Sendable () -> Void) {
        context.withLock { bits in
            guard let context = OpaquePointer(bitPattern: bits) else { return }
            // One wake-up per burst: a job behind others rides on the wake-up the first one sent.
            if jobs.appendWakingIfFirst(job, bytes: bytes).wake { lws_cancel_service(context) }
        }
    }

    /// Any thread: queue `job` whatever the bound (a stop request must never be dropped).
    func executeUrgent(_ job: @escaping @Sendable () -> Void) {
        context.withLock { bits in
            guard let context = OpaquePointer(bitPattern: bits) else { return }
            jobs.appendUrgent(job)
            lws_cancel_service(context)
        }
    }

    /// Service thread, on `LWS_CALLBACK_EVENT_WAIT_CANCELLED`: runs what was posted, and says once what a
    /// full inbox refused since the last time.
    func drain() {
        let (pending, drops) = jobs.takeAll()
        if drops.jobs > 0 {
            log.warn("service inbox full (limit \(jobs.capacity) jobs, \(jobs.byteBudget) bytes): dropped \(drops.jobs) jobs from other threads (\(drops.bytes) bytes of messages)")
        }
        for job in pending { job() }
    }
}
