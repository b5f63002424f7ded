import CLibWebSockets
import EngineIO

/// Gives the memory of dropped outbound queues back to the system.
///
/// glibc keeps freed memory for reuse: a chunk below its mmap threshold goes back to its arena, and the
/// threshold itself rises to the size of the largest mmapped chunk freed (up to 32 MiB), so after clients
/// holding hundreds of megabytes are closed the process keeps them as free heap. A second after the first
/// queue dropped since the last look, when at least ``memoryReturnThreshold`` bytes of queues were dropped,
/// `malloc_trim(0)` hands every free page of every arena back (a walk of the free lists: milliseconds, and
/// only after such drops). Nothing is timed while nothing is dropped: an idle server, or one fanning a
/// reminder out, is not woken for it.
extension LWSServer {
    /// 4 MiB of dropped queues: a few closed clients that were not reading; below it trimming is not worth it.
    public static let memoryReturnThreshold = 4 * 1024 * 1024

    /// Looks at `memory`'s dropped bytes a second after each first drop. After ``start()``, like ``repeatEvery(milliseconds:_:)``.
    public func returnDroppedMemory(of memory: OutboundMemory) {
        guard let context else { preconditionFailure("returnDroppedMemory needs start() first") }
        // The look comes a second after the drop, so lws has destroyed the closed connections (and freed
        // the frame tails it kept for them) by then.
        memoryReturn = LWSTimer(context: context) {
            if memory.takeDropped() >= Self.memoryReturnThreshold { _ = clws_malloc_trim() }
        }
        memory.onFirstDrop = { [unowned self] in self.memoryReturn?.schedule(inMicroseconds: 1_000_000) }
    }
}
