import Testing

@testable import QuenchLWS

/// The header lines quench writes after lws's status line read as lws's own did (issue 26 moved them out
/// of lws's per-header calls).
@Suite struct HTTPHeaderWriterTests {
    private func written(_ write: (inout UnsafeMutablePointer<UInt8>) -> Void) -> String {
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        defer { buffer.deallocate() }
        var cursor = buffer
        write(&cursor)
        return String(decoding: UnsafeBufferPointer(start: buffer, count: cursor - buffer), as: UTF8.self)
    }

    @Test func aHeaderLineHasItsNameLowerCased() {
        #expect(written { HTTPHeaderWriter.line(name: "Access-Control-Allow-Origin", value: "https://A.example", at: &$0) }
            == "access-control-allow-origin: https://A.example\r\n")
    }

    @Test(arguments: [(0, "0"), (7, "7"), (10, "10"), (118, "118"), (1_000_000, "1000000")])
    func contentLengthIsDecimal(_ length: Int, _ text: String) {
        #expect(written { HTTPHeaderWriter.contentLength(length, at: &$0) } == "content-length: \(text)\r\n")
    }
}
