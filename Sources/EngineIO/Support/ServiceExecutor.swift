/// Runs work on the service thread, which alone may touch sessions and sockets.
///
/// This is how other threads (the reminder thread, a message-queue reader) reach clients: they post a
/// job, the server's thread runs it. Emitting directly from another thread is the classic way for
/// Socket.IO messages to get lost; here it cannot compile.
public protocol ServiceExecutor: Sendable {
    /// Queues `job` to run on the service thread, soon and in posting order. Safe from any thread.
    func execute(_ job: @escaping @Sendable () -> Void)

    /// Queues `job`, which holds `bytes` bytes of data (a message from another node), so that the executor's
    /// bound counts them. An executor at its bound refuses the job, counts it and logs once per episode.
    func execute(bytes: Int, _ job: @escaping @Sendable () -> Void)
}

extension ServiceExecutor {
    /// An executor without a byte bound runs the job as any other.
    public func execute(bytes: Int, _ job: @escaping @Sendable () -> Void) { execute(job) }
}
