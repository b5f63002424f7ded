/// One transport's load generator, as `QuenchBench` runs it and `Report` reads it.
protocol BenchDriver: AnyObject {
    var settings: BenchSettings { get }
    /// What the run measured so far; final once `run()` returns.
    var record: BenchRecord { get }
    /// Called once when every client is connected (or connecting gave up), as the measured window opens.
    var onAllConnected: (() -> Void)? { get set }
    /// Connects every client, measures for the window, then closes everything. Throws only when the run
    /// cannot start at all (no client context, an unresolvable host); per-client trouble is in `record`.
    func run() throws(BenchError)
}

/// Why a run could not start, in one line for the terminal.
struct BenchError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
