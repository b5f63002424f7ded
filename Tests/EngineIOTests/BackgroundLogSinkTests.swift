import EngineIO
import QuenchSystem
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The log's writer thread: a thread that logs never waits for standard error, lines keep their order, a
/// reader that stops reading costs dropped lines (counted, then reported), not a stalled server.
@Suite struct BackgroundLogSinkTests {
    /// A sink that holds every write while `blocked` is set, as a full pipe would.
    final class StallingSink: LogSink, @unchecked Sendable {
        let blocked = Lock(false)
        let written = Lock([String]())
        func write(_ line: String) {
            while blocked.withLock({ $0 }) { usleep(1000) }
            written.withLock { $0.append(line) }
        }
    }

    @Test func linesArriveInOrder() {
        let inner = StallingSink()
        let sink = BackgroundLogSink(inner)
        for index in 0..<500 { sink.write("info line \(index)\n") }
        sink.flush()
        #expect(inner.written.withLock { $0 } == (0..<500).map { "info line \($0)\n" })
    }

    @Test func aStalledReaderCostsDroppedLinesNotAStalledWriter() {
        let inner = StallingSink()
        inner.blocked.withLock { $0 = true }
        let sink = BackgroundLogSink(inner, capacity: 1024)
        // 10,000 lines of 32 bytes against a 1 KiB buffer, with nobody reading: each call returns (were one
        // to wait for the stalled sink, this test would never get past the loop).
        for index in 0..<10_000 { sink.write("info a line of about 32 bytes \(index % 10)\n") }
        #expect(sink.droppedNow > 9_000)
        inner.blocked.withLock { $0 = false }
        sink.flush()
        let written = inner.written.withLock { $0 }
        #expect(written.count < 100)
        #expect(written.last?.hasPrefix("warn log: ") == true)
        #expect(written.last?.contains("lines dropped") == true)
    }
}
