import CBenchSystem

/// The `pollfd` table of the polling client: one fixed slot per HTTP connection, so registering,
/// re-arming and closing a socket are single stores and `poll()` never needs the table rebuilt.
///
/// A slot whose fd is -1 is skipped by the kernel. Owned by `PollingClient`, used on its one thread.
final class PollSet {
    private let entries: UnsafeMutablePointer<pollfd>
    let count: Int

    init(slots: Int) {
        count = slots
        entries = .allocate(capacity: max(slots, 1))
        entries.initialize(repeating: pollfd(fd: -1, events: 0, revents: 0), count: max(slots, 1))
    }

    deinit {
        entries.deallocate()
    }

    /// Watches `fd` in `slot` for input, and for output too while `writable` (a connect or write is pending).
    func watch(_ slot: Int, fd: Int32, writable: Bool) {
        entries[slot].fd = fd
        entries[slot].events = Int16(POLLIN) | (writable ? Int16(POLLOUT) : 0)
        entries[slot].revents = 0
    }

    /// Stops watching `slot` (its socket was closed).
    func clear(_ slot: Int) {
        entries[slot] = pollfd(fd: -1, events: 0, revents: 0)
    }

    /// Waits up to `timeoutMilliseconds` and calls `handle(slot, revents)` for every ready slot.
    /// Handlers may watch or clear any slot; a slot cleared before its turn is skipped.
    func wait(timeoutMilliseconds: Int32, _ handle: (Int, Int16) -> Void) -> Result<Void, BenchError> {
        let ready = poll(entries, nfds_t(count), timeoutMilliseconds)
        if ready < 0 {
            return cbench_errno() == EINTR ? .success(()) : .failure(BenchError("poll: \(errorText(cbench_errno()))"))
        }
        var left = Int(ready)
        var slot = 0
        while left > 0, slot < count {
            let revents = entries[slot].revents
            if revents != 0 {
                left -= 1
                entries[slot].revents = 0
                if entries[slot].fd >= 0 { handle(slot, revents) }
            }
            slot += 1
        }
        return .success(())
    }
}
