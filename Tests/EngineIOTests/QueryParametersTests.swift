import Testing

@testable import EngineIO

/// lws hands the query over already decoded, one argument per fragment: these take the fragments as
/// lws 4.1.6 produced them for the requests named in each comment (checked with curl against quench).
@Suite struct QueryParametersTests {
    private func parameters(_ fragments: [String]) -> QueryParameters {
        var query = QueryParameters()
        for fragment in fragments {
            var text = fragment
            text.withUTF8 { query.append(decodedArgument: $0) }
        }
        return query
    }

    @Test func argumentsAreSplitAtTheirFirstEqualsSign() {
        // ?EIO=4&transport=polling&t=a=b&flag
        let query = parameters(["EIO=4", "transport=polling", "t=a=b", "flag"])
        #expect(query["EIO"] == "4")
        #expect(query["transport"] == "polling")
        #expect(query["t"] == "a=b")
        #expect(query["flag"] == "")
        #expect(query.count == 4)
    }

    @Test func aDecodedPercentIsNotDecodedAgain() {
        // ?transport=pollin%2567 → lws gives "transport=pollin%67"
        #expect(parameters(["transport=pollin%67"])["transport"] == "pollin%67")
        // ?transport=x%250Awarn%20forged → "transport=x%0Awarn forged": no newline appears
        #expect(parameters(["transport=x%0Awarn forged"])["transport"] == "x%0Awarn forged")
        // ?a=%2Bb → "a=+b": a plus lws decoded stays a plus
        #expect(parameters(["a=+b"])["a"] == "+b")
    }

    @Test func aDecodedAmpersandStaysInsideItsValue() {
        // ?a=%26b → one fragment "a=&b"; ?transport=polling%26EIO%3D4 → "transport=polling&EIO=4"
        let query = parameters(["a=&b"])
        #expect(query.count == 1)
        #expect(query["a"] == "&b")
        #expect(query["b"] == nil)
        let smuggled = parameters(["transport=polling&EIO=4"])
        #expect(smuggled["transport"] == "polling&EIO=4")
        #expect(smuggled["EIO"] == nil)
    }

    @Test func emptyArgumentsAreSkippedAndLaterOnesKept() {
        // ?EIO=4&&transport=polling → fragments "EIO=4", "", "transport=polling"
        let query = parameters(["EIO=4", "", "transport=polling"])
        #expect(query.count == 2)
        #expect(query["transport"] == "polling")
        #expect(parameters([]) == QueryParameters())
    }

    @Test func bytesAreTakenAsTheyCame() {
        // ?a=%C3%A9&b=%ff: valid UTF-8 kept, a stray byte becomes U+FFFD, never an error
        let query = parameters(["a=\u{e9}"])
        #expect(query["a"] == "\u{e9}")
        var raw: [UInt8] = Array("b=".utf8) + [0xFF]
        var withStray = QueryParameters()
        raw.withUnsafeMutableBufferPointer { withStray.append(decodedArgument: UnsafeBufferPointer($0)) }
        #expect(withStray["b"] == "\u{FFFD}")
        // "=v": an empty name is a parameter like any other
        #expect(parameters(["=v"])[""] == "v")
    }

    @Test func theFirstOfRepeatedNamesWins() {
        let query = parameters(["sid=one", "sid=two"])
        #expect(query["sid"] == "one")
        #expect(query == parameters(["sid=one", "sid=two"]))
        #expect(query != parameters(["sid=two", "sid=one"]))
    }

    @Test func aRawQueryStringIsDecodedOnce() {
        // The raw form (tests, in-memory transports) decodes each escape once: %2567 is "%67", not "g".
        #expect(QueryParameters("transport=pollin%2567")["transport"] == "pollin%67")
        #expect(QueryParameters("a=%26b")["a"] == "&b")
        #expect(QueryParameters("a=%26b").count == 1)
        #expect(QueryParameters("?a=1&b=x+y")["b"] == "x y")
    }
}
