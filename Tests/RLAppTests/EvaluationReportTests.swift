import RLApp
import RLReasoning
import Testing

/// What `evaluate` shows of a run: `summary.md` (this run above the paper's Table 2, per-task
/// details, unparseable golds) and the progress bar.
@Suite("Evaluation report")
struct EvaluationReportTests {
    /// A four-problem task: p1 and p2 right, p3 with an unparseable gold, p4 wrong.
    static func summary() -> EvaluationSummary {
        let task = EvaluationTask(name: "toy", displayName: "Toy", file: "/toy.jsonl")
        let problems = (1...4).map { EvaluationProblem(id: "p\($0)", problem: "Q\($0)", golds: ["\($0)"]) }
        let records = (1...4).map { index in
            EvaluationRecord(task: "toy", problemID: "p\(index)", sample: 0, completion: "x", extractedAnswer: "x",
                             correct: index <= 2, goldUnparseable: index == 3, reason: index == 3 ? "goldUnparseable" : nil,
                             tokens: 5, finishReason: "eos")
        }
        return EvaluationSummary(model: "canned", settings: ["temperature": "0.6"],
                                 tasks: [TaskSummary(task: task, problems: problems, records: records, samples: 1)])
    }

    @Test func markdownPutsTheRunAboveThePapersTable() {
        let markdown = Self.summary().markdown()
        #expect(markdown.contains("| **canned** (this run) | – | – | – | – | – | 50.0 ± 28.9 | 50.0 (1 tasks) |"), "\(markdown)")
        #expect(markdown.contains("| Open-RS3 (paper) | 46.7 | 84.4 | 72.5 | 26.8 | 51.3 |  | 56.3 |"))
        #expect(markdown.contains("- Toy: p3"))
        #expect(markdown.contains("temperature 0.6"))
    }

    @Test func progressBarLine() {
        #expect(ProgressBar.line(done: 3, total: 6, elapsed: 30, label: "toy", width: 10)
                == "[#####-----] 3/6 50% elapsed 00:30 ETA 00:30 toy")
    }
}
