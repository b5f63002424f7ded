import Testing

@testable import quench

/// The exposition writer: escaping as the text format 0.0.4 requires, cumulative histogram buckets, and
/// /proc/self/stat read past a command name that holds spaces and parentheses.
@Suite struct PrometheusTextTests {
    private func text(_ page: PrometheusText) -> String { String(decoding: page.bytes, as: UTF8.self) }

    @Test func familyAndSamples() {
        var page = PrometheusText()
        page.family("quench_x_total", .counter, help: "What x counts.")
        page.sample("quench_x_total", 3)
        page.sample("quench_y", ["a": "1", "b": "two"], 0.25)
        #expect(text(page) == "# HELP quench_x_total What x counts.\n# TYPE quench_x_total counter\nquench_x_total 3\nquench_y{a=\"1\",b=\"two\"} 0.25\n")
    }

    @Test func labelValuesAndHelpAreEscaped() {
        var page = PrometheusText()
        page.family("m", .gauge, help: "back\\slash\nnewline \"quotes\" stay")
        page.sample("m", ["namespace": "/a\"b\\c\nd"], 1)
        #expect(text(page) == "# HELP m back\\\\slash\\nnewline \"quotes\" stay\n# TYPE m gauge\nm{namespace=\"/a\\\"b\\\\c\\nd\"} 1\n")
    }

    @Test func specialFloats() {
        #expect(PrometheusText.format(.infinity) == "+Inf")
        #expect(PrometheusText.format(-.infinity) == "-Inf")
        #expect(PrometheusText.format(.nan) == "NaN")
        #expect(PrometheusText.format(0.005) == "0.005")
    }

    @Test func histogramBucketsAreCumulative() {
        var histogram = LatencyHistogram(bounds: [0.01, 0.1, 1])
        for value in [0.001, 0.01, 0.05, 0.5, 7] { histogram.observe(value) }
        var page = PrometheusText()
        page.histogram("h_seconds", help: "h", histogram)
        let lines = text(page).split(separator: "\n").map(String.init)
        #expect(lines.dropFirst(2).prefix(4) == [
            "h_seconds_bucket{le=\"0.01\"} 2", "h_seconds_bucket{le=\"0.1\"} 3", "h_seconds_bucket{le=\"1.0\"} 4",
            "h_seconds_bucket{le=\"+Inf\"} 5",
        ])
        #expect(lines.last == "h_seconds_count 5")
        #expect(lines.contains("h_seconds_sum 7.561"))
    }

    @Test func statFieldsSkipAnAwkwardCommandName() {
        let stat = Array("4242 (a) b (c)) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21\n".utf8)
        let fields = ProcessMetrics.statFields(stat)
        #expect(fields?.first == "S")
        #expect(fields?.count == 22)
        #expect(ProcessMetrics.statFields(Array("no parenthesis".utf8)) == nil)
    }

    @Test func thisProcessIsRead() throws {
        let process = try #require(ProcessMetrics.current())
        #expect(process.residentBytes > 0)
        #expect(process.openFileDescriptors > 0 && process.openFileDescriptors <= process.maxFileDescriptors)
        #expect(process.cpuSeconds >= 0)
    }
}
