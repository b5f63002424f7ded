/// What the binding counts for `/metrics`: HTTP responses with an error status it wrote (engine
/// refusals, 404s, 408, 413, 431, 503 full or stopping), by status. Plain integers: only the service
/// thread writes them and the scrape reads them there too.
///
/// Bounded: statuses are the handful quench writes (400–599 at most), one entry each.
public struct LWSCounters: Sendable {
    /// Error responses written, by HTTP status.
    public private(set) var refusedByStatus: [Int: Int] = [:]

    mutating func refused(status: Int) {
        refusedByStatus[min(max(status, 400), 599), default: 0] &+= 1
    }
}
