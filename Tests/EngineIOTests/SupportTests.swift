import Testing

@testable import EngineIO

@Suite struct SupportTests {
    @Test func queryParametersDecode() {
        let query = QueryParameters("?EIO=4&transport=polling&t=N%2Fx+y&flag&sid=")
        #expect(query["EIO"] == "4")
        #expect(query["transport"] == "polling")
        #expect(query["t"] == "N/x y")
        #expect(query["flag"] == "")
        #expect(query["sid"] == "")
        #expect(query["missing"] == nil)
    }

    @Test func queryParametersEdgeCases() {
        #expect(QueryParameters("") == QueryParameters("?"))
        #expect(QueryParameters("")["a"] == nil)
        let query = QueryParameters("&&a=1&&a=2&b==x&c=%zz&%C3%A9=%C3%BC&caf\u{e9}=ok&")
        #expect(query["a"] == "1")
        #expect(query["b"] == "=x")
        #expect(query["c"] == "%zz")
        #expect(query["\u{e9}"] == "\u{fc}")
        #expect(query["caf\u{e9}"] == "ok")
        #expect(query == QueryParameters("a=1&a=2&b==x&c=%zz&%C3%A9=%C3%BC&caf\u{e9}=ok"))
        #expect(query != QueryParameters("a=2&a=1&b==x&c=%zz&%C3%A9=%C3%BC&caf\u{e9}=ok"))
    }

    /// lws's form, as the binding appends it: presence, byte comparisons and the pairs agree with lookups.
    @Test func queryParametersFromDecodedArguments() {
        var query = QueryParameters(capacity: 40)
        for argument in ["EIO=4", "", "transport=polling", "flag", "sid=", "t=a=b", "EIO=3", "bad=\u{FF}x"] {
            var bytes = Array(argument.utf8)
            if argument.hasPrefix("bad=") { bytes = Array("bad=".utf8) + [0xFF] + Array("x".utf8) }
            bytes.withUnsafeBufferPointer { query.append(decodedArgument: $0) }
        }
        #expect(query.count == 7)
        #expect(query.contains("flag") && query.contains("sid") && !query.contains("fla") && !query.contains("flags"))
        #expect(query["flag"] == "" && query["sid"] == "" && query["t"] == "a=b" && query["EIO"] == "4")
        #expect(query["bad"] == "\u{FFFD}x")
        #expect(query.withValue("transport") { $0.map { QueryParameters.text("polling", equals: $0) } } == true)
        #expect(query.withValue("transport") { $0.map { QueryParameters.text("pollin", equals: $0) } } == false)
        #expect(query.withValue("missing") { $0 == nil })
        #expect(EngineProtocolVersion(query: query) == .v4)
        #expect(EngineProtocolVersion(query: QueryParameters("EIO=3")) == .v3)
        #expect(EngineProtocolVersion(query: QueryParameters("EIO=44")) == nil)
        #expect(EngineProtocolVersion(query: QueryParameters("")) == nil)
        #expect(TransportRegistry.standard.kind(in: query)?.name == .polling)
        #expect(TransportRegistry.standard.kind(in: QueryParameters("transport=poll")) == nil)
        #expect(query.all.map { "\($0.name)=\($0.value)" } == ["EIO=4", "transport=polling", "flag=", "sid=", "t=a=b", "EIO=3", "bad=\u{FFFD}x"])
        #expect(QueryParameters(decoded: query.all) == query)
        // `flag` and `flag=` are one parameter with an empty value, however it was written.
        #expect(QueryParameters("flag") == QueryParameters("flag="))
    }

    @Test func sessionIDsAreTwentyURLSafeCharactersAndDistinct() {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var seen = Set<String>()
        for _ in 0..<1000 {
            let sid = SessionID.make()
            #expect(sid.count == 20)
            #expect(sid.allSatisfy { allowed.contains($0) })
            seen.insert(sid)
        }
        #expect(seen.count == 1000)
    }

    @Test func corsPolicyParsesAndDecides() {
        #expect(CORSPolicy(parsing: "*") == .anyOrigin)
        #expect(CORSPolicy(parsing: " https://a.example , http://b.example:8080/ ") == .origins(["https://a.example", "http://b.example:8080"]))
        #expect(CORSPolicy(parsing: " , ") == nil)
        let policy = CORSPolicy.origins(["https://a.example"])
        #expect(policy.allows(origin: "https://a.example"))
        #expect(!policy.allows(origin: "https://evil.example"))
        #expect(policy.allows(origin: nil))
        #expect(policy.responseHeaders(origin: "https://a.example") == [
            HTTPHeader("Access-Control-Allow-Origin", "https://a.example"), HTTPHeader("Access-Control-Allow-Credentials", "true"),
        ])
        #expect(policy.responseHeaders(origin: "https://evil.example").isEmpty)
        #expect(CORSPolicy.anyOrigin.responseHeaders(origin: nil).isEmpty)
    }

    @Test func deadlineHeapPopsInOrder() {
        var heap = DeadlineHeap<Int>()
        for (index, deadline) in [50, 10, 40, 10, 30, 20].enumerated() { heap.insert(index, deadline: Int64(deadline), stamp: 0) }
        #expect(heap.popDue(now: 5) == nil)
        var popped: [Int64] = []
        while let entry = heap.popDue(now: 45) { popped.append(entry.deadline) }
        #expect(popped == [10, 10, 20, 30, 40])
        #expect(heap.earliest == 50)
    }

    @Test func configurationNormalisesThePath() {
        #expect(EngineConfiguration(path: "socket.io").path == "/socket.io/")
        #expect(EngineConfiguration(path: "/custom/").path == "/custom/")
    }
}
