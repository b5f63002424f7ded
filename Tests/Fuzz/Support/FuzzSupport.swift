import SocketIO

/// What every fuzz target shares: the failure that libFuzzer records as a crash, and the one normalisation
/// quench's JSON round trip makes on purpose.
enum Fuzz {
    /// Fails the run (libFuzzer saves the input as a reproducer) when a property does not hold.
    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("property failed: \(message())") }
    }

    /// `value` as the JSON writer writes it: a non-finite double (a number beyond Double's range parses
    /// as infinity) becomes null, as JavaScript's `JSON.stringify` writes it. Everything else is kept.
    static func normalised(_ value: JSONValue) -> JSONValue {
        switch value {
        case .double(let number) where !number.isFinite: .null
        case .array(let elements): .array(elements.map(normalised))
        case .object(let members): .object(members.map { JSONMember($0.key, normalised($0.value)) })
        case .null, .bool, .int, .double, .string, .binary: value
        }
    }

    /// The fuzzer's bytes as parts separated by the record separator 0x1E (the Engine.IO polling
    /// separator, so captured polling bodies are valid seeds as they are).
    static func parts(_ bytes: UnsafeBufferPointer<UInt8>) -> [ArraySlice<UInt8>] {
        Array(bytes).split(separator: 0x1E, omittingEmptySubsequences: false)
    }
}
