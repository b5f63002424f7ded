import SocketIO

/// The JSON parser against any bytes: it returns a value or throws, never traps, and what it returns
/// survives the writer: parse → write → parse gives the same value (after the writer's one deliberate
/// normalisation, infinity → null), and writing that again gives the same bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    guard let value = try? JSONParser.parse(input) else { return 0 }
    let written = JSONWriter.encode(value)
    let again: JSONValue
    do { again = try JSONParser.parse(written) } catch {
        Fuzz.check(false, "written JSON does not parse: \(error) in \(String(decoding: written, as: UTF8.self))")
        return 0
    }
    Fuzz.check(again == Fuzz.normalised(value), "round trip changed \(value) into \(again)")
    Fuzz.check(JSONWriter.encode(again) == written, "writing is not stable for \(again)")
    // A prefix parse of the same bytes must agree with the whole parse.
    if let (prefix, end) = try? JSONParser.parsePrefix(input, from: 0) {
        Fuzz.check(prefix == value && end <= size, "parsePrefix disagrees with parse")
    }
    return 0
}
