/// A Prometheus text exposition (format 0.0.4) being written: `# HELP` and `# TYPE` once per family,
/// then its samples, one per line. Label values and help texts are escaped as the format requires
/// (backslash, double quote and newline in values; backslash and newline in help).
///
/// Why not swift-prometheus: quench counts on the service thread in plain integers (and in a few
/// atomics on the Redis threads) and needs only this page; swift-prometheus's registry would add
/// swift-atomics and swift-metrics' CoreMetrics to the build for atomic per-metric objects, and the
/// engine would have to import it to count. See README, "Running it as a service".
struct PrometheusText {
    enum Kind: String {
        case counter, gauge, histogram
    }

    private(set) var bytes: [UInt8] = []

    init(reservingCapacity capacity: Int = 8192) {
        bytes.reserveCapacity(capacity)
    }

    /// Starts the family `name` (a `_total` counter, a gauge in base units, a histogram).
    mutating func family(_ name: String, _ kind: Kind, help: String) {
        append("# HELP \(name) ")
        for byte in help.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\n"): append("\\n")
            default: bytes.append(byte)
            }
        }
        append("\n# TYPE \(name) \(kind.rawValue)\n")
    }

    /// A family of one unlabelled sample: the common case (a counter, a gauge).
    mutating func single(_ name: String, _ kind: Kind, help: String, _ value: Int) {
        family(name, kind, help: help)
        sample(name, value)
    }

    mutating func single(_ name: String, _ kind: Kind, help: String, _ value: Double) {
        family(name, kind, help: help)
        sample(name, value)
    }

    /// One sample without labels.
    mutating func sample(_ name: String, _ value: Int) { sample(name, [:], value) }
    mutating func sample(_ name: String, _ value: Double) { sample(name, [:], value) }

    /// One sample with an integer value.
    mutating func sample(_ name: String, _ labels: KeyValuePairs<String, String>, _ value: Int) {
        sampleStart(name, labels)
        append("\(value)\n")
    }

    /// One sample with a real value (seconds, a ratio).
    mutating func sample(_ name: String, _ labels: KeyValuePairs<String, String>, _ value: Double) {
        sampleStart(name, labels)
        append(Self.format(value))
        bytes.append(UInt8(ascii: "\n"))
    }

    /// A whole histogram family: cumulative `_bucket{le=…}` lines, `+Inf`, `_sum` and `_count`.
    mutating func histogram(_ name: String, help: String, _ histogram: LatencyHistogram) {
        family(name, .histogram, help: help)
        var cumulative = 0
        for (index, bound) in histogram.bounds.enumerated() {
            cumulative += histogram.bucketCounts[index]
            sample("\(name)_bucket", ["le": Self.format(bound)], cumulative)
        }
        sample("\(name)_bucket", ["le": "+Inf"], histogram.count)
        sample("\(name)_sum", histogram.sum)
        sample("\(name)_count", histogram.count)
    }

    private mutating func sampleStart(_ name: String, _ labels: KeyValuePairs<String, String>) {
        append(name)
        if !labels.isEmpty {
            bytes.append(UInt8(ascii: "{"))
            for (index, label) in labels.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                append("\(label.key)=\"")
                for byte in label.value.utf8 {
                    switch byte {
                    case UInt8(ascii: "\\"): append("\\\\")
                    case UInt8(ascii: "\""): append("\\\"")
                    case UInt8(ascii: "\n"): append("\\n")
                    default: bytes.append(byte)
                    }
                }
                bytes.append(UInt8(ascii: "\""))
            }
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: " "))
    }

    /// A float as Prometheus (Go's ParseFloat) reads it: Swift's shortest round-trip form, `+Inf`,
    /// `-Inf`, `NaN`.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return "\(value)"
    }

    private mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }
}

/// A histogram of durations in seconds with fixed bucket bounds: one integer per bucket, a sum and a
/// count. Service thread only. Bounded: as many counters as bounds, whatever is observed.
struct LatencyHistogram {
    /// Upper bounds, ascending, in seconds.
    let bounds: [Double]
    /// Observations per bucket (not cumulative): index i counts values in (bounds[i-1], bounds[i]].
    private(set) var bucketCounts: [Int]
    private(set) var sum = 0.0
    private(set) var count = 0

    init(bounds: [Double]) {
        precondition(!bounds.isEmpty && zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 }, "bounds ascend")
        self.bounds = bounds
        bucketCounts = Array(repeating: 0, count: bounds.count)
    }

    mutating func observe(_ seconds: Double) {
        count += 1
        sum += seconds
        // A handful of bounds: a linear scan beats a binary search here.
        if let index = bounds.firstIndex(where: { seconds <= $0 }) { bucketCounts[index] += 1 }
    }
}
