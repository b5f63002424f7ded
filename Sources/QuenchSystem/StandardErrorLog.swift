#if canImport(Glibc)
import Glibc
#endif
import EngineIO

/// The process's log: each line to file descriptor 2 in one `write`, so lines from two threads never interleave.
public struct StandardErrorLog: LogSink {
    public init() {}

    public func write(_ line: String) {
        var line = line
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}

extension Logger {
    /// A logger writing to standard error: the one the binaries use.
    public init(level: LogLevel = .info) {
        self.init(level: level, sink: StandardErrorLog())
    }
}
