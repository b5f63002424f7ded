import CLibWebSockets

/// One lws timer (`lws_sul`) that calls a Swift closure on the service thread.
///
/// lws keeps a pointer to the `lws_sorted_usec_list_t`, so it lives in memory we allocate and free
/// ourselves; a pointer back to this object sits right after it, which is how the C callback finds us.
/// Service thread only. One per engine clock, plus the shutdown deadline.
final class LWSTimer {
    private let context: OpaquePointer
    private let storage: UnsafeMutableRawPointer
    private let action: () -> Void

    private static let sulSize = (MemoryLayout<lws_sorted_usec_list_t>.size + 15) & ~15

    init(context: OpaquePointer, action: @escaping () -> Void) {
        self.context = context
        self.action = action
        storage = UnsafeMutableRawPointer.allocate(
            byteCount: Self.sulSize + MemoryLayout<UnsafeRawPointer>.size, alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: Self.sulSize + MemoryLayout<UnsafeRawPointer>.size)
        (storage + Self.sulSize).storeBytes(of: Unmanaged.passUnretained(self).toOpaque(), as: UnsafeMutableRawPointer.self)
    }

    deinit {
        lws_sul_cancel(storage.assumingMemoryBound(to: lws_sorted_usec_list_t.self))
        storage.deallocate()
    }

    /// Fires once, `microseconds` from now (replacing any earlier schedule).
    func schedule(inMicroseconds microseconds: Int64) {
        lws_sul_schedule(context, 0, storage.assumingMemoryBound(to: lws_sorted_usec_list_t.self),
            { sul in
                guard let sul else { return }
                let owner = (UnsafeMutableRawPointer(sul) + LWSTimer.sulSize).load(as: UnsafeMutableRawPointer.self)
                Unmanaged<LWSTimer>.fromOpaque(owner).takeUnretainedValue().action()
            }, max(microseconds, 0))
    }

    func cancel() {
        lws_sul_cancel(storage.assumingMemoryBound(to: lws_sorted_usec_list_t.self))
    }
}
