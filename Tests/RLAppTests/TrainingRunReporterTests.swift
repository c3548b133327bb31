import FoundationEssentials
import RLApp
import RLReasoning
import RLTestSupport
import Testing

/// The reporter the tools attach to a trainer: a progress line per step and `report.html` drawn
/// from the run's files, covering the whole run after a resume.
@Suite("Training run reporter")
struct TrainingRunReporterTests {
    @Test func progressLinesAndAReportOfTheWholeRun() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("rl-app-reporter-\(UInt64.random(in: 0 ... .max))")
        defer { try? FileManager.default.removeItem(at: output) }
        var lines: [String] = []
        let first = try GRPOTrainer(configuration: smallConfiguration(), policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(),
                                    dataset: arithmeticDataset())
        first.log = { _ in }
        _ = TrainingRunReporter(trainer: first, output: output) { lines.append($0) }
        try first.train(output: output, stopAfterStep: 2)
        #expect(lines.count == 2 && lines[0].hasPrefix("step 1/4 | reward ") && lines[1].hasPrefix("step 2/4 |"), "\(lines)")
        let html = try String(contentsOf: output.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("step 2: reward"))

        // Resumed in a new trainer and reporter: the report still covers steps 1 to 4.
        let second = try GRPOTrainer(configuration: smallConfiguration(), policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(),
                                     dataset: arithmeticDataset())
        second.log = { _ in }
        lines = []
        _ = TrainingRunReporter(trainer: second, output: output) { lines.append($0) }
        try second.train(output: output, resume: true)
        #expect(lines.count == 2 && lines[0].hasPrefix("step 3/4 |") && lines[1].hasPrefix("step 4/4 |"), "\(lines)")
        let resumed = try String(contentsOf: output.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(resumed.contains("step 4: reward"))
        // Four points per curve: the steps before the resume come from metrics.jsonl.
        let firstCurve = try #require(resumed.range(of: "points=\"")).upperBound
        let points = resumed[firstCurve...].prefix { $0 != "\"" }.split(separator: " ")
        #expect(points.count == 4, "\(points)")
    }
}
