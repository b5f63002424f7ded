/// Reads the durations the command line takes: plain seconds (`25`, `1.5`) or a number with a unit
/// (`500ms`, `30s`, `2m`, `1h`).
public enum DurationText {
    /// Milliseconds, or nil if `text` is not a non-negative duration (no signs, exponents, `inf` or `nan`;
    /// nothing that rounds to 0 ms unless it is 0; nothing past Int64.max / 2). Ranges are the caller's.
    public static func milliseconds(from text: String) -> Int64? {
        let units: [(suffix: String, milliseconds: Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        var number = Substring(text)
        var scale = 1000.0
        for unit in units where text.hasSuffix(unit.suffix) {
            number = text.dropLast(unit.suffix.count)
            scale = unit.milliseconds
            break
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            let value = Double(number), value.isFinite, value >= 0
        else { return nil }
        let result = (value * scale).rounded()
        // Too large for the arithmetic downstream, or a positive value that would round to "off".
        guard result <= Double(Int64.max / 2), result > 0 || value == 0 else { return nil }
        return Int64(result)
    }
}
