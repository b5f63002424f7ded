/// Runs work on the service thread, which alone may touch sessions and sockets.
///
/// This is how other threads (the reminder thread, a message-queue reader) reach clients: they post a
/// job, the server's thread runs it. Emitting directly from another thread is the classic way for
/// Socket.IO messages to get lost; here it cannot compile.
public protocol ServiceExecutor: Sendable {
    /// Queues `job` to run on the service thread, soon and in posting order. Safe from any thread.
    func execute(_ job: @escaping @Sendable () -> Void)
}
