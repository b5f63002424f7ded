import CLibWebSockets
import EngineIO
import Synchronization

/// The one door into the service thread for other threads (the reminder thread, the signal thread):
/// a locked list of jobs plus `lws_cancel_service`, the only lws call that is safe off the service thread.
final class ServiceInbox: ServiceExecutor, @unchecked Sendable {
    typealias Job = @Sendable () -> Void

    private let jobs = Mutex<[Job]>([])
    /// Set once the context exists; read under the same lock so no job can slip past `close`.
    /// Stored as a bit pattern: a raw pointer is not Sendable, an integer is.
    private let context = Mutex<UInt>(0)

    /// Binds the inbox to a live context. Service thread, before `lws_service` runs.
    func open(context: OpaquePointer) {
        self.context.withLock { $0 = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(context))) }
    }

    /// Unbinds before `lws_context_destroy`, so late posts neither wake a dead context nor run.
    func close() {
        context.withLock { $0 = 0 }
        jobs.withLock { $0.removeAll() }
    }

    /// Any thread: queue `job` and wake the service thread. Jobs run in the order posted.
    func execute(_ job: @escaping @Sendable () -> Void) {
        context.withLock { bits in
            guard let context = OpaquePointer(bitPattern: bits) else { return }
            jobs.withLock { $0.append(job) }
            lws_cancel_service(context)
        }
    }

    /// Service thread, on `LWS_CALLBACK_EVENT_WAIT_CANCELLED`: runs what was posted.
    func drain() {
        let pending = jobs.withLock { jobs -> [Job] in
            let taken = jobs
            jobs.removeAll(keepingCapacity: true)
            return taken
        }
        for job in pending { job() }
    }
}
