import FoundationEssentials
import RLReasoning

/// `summary.md`: an evaluation summary as a Markdown report, this run's row above the Open-RS
/// paper's Table 2, then per-task details.
extension EvaluationSummary {
    /// The paper's Table 2 rows (zero-shot pass@1, %), columns AIME24, MATH-500, AMC23, Minerva,
    /// OlympiadBench, Avg; nil where the paper has a dash.
    public static let paperRows: [(model: String, values: [Double?])] = [
        ("Llama-3.1-70B-Instruct", [16.7, 64.6, 30.1, 35.3, 31.9, 35.7]),
        ("o1-preview", [44.6, 85.5, nil, nil, nil, nil]),
        ("Qwen-2.5-Math-7B-Instruct", [13.3, 79.8, 50.6, 34.6, 40.7, 43.8]),
        ("rStar-Math-7B", [26.7, 78.4, 47.5, nil, 47.1, nil]),
        ("Eurus-2-7B-PRIME", [26.7, 79.2, 57.8, 38.6, 42.1, 48.9]),
        ("Qwen2.5-7B-SimpleRL", [26.7, 82.4, 62.5, 39.7, 43.3, 50.9]),
        ("DeepSeek-R1-Distill-Qwen-1.5B", [28.8, 82.8, 62.9, 26.5, 43.3, 48.9]),
        ("Still-3-1.5B-Preview", [32.5, 84.4, 66.7, 29.0, 45.4, 51.6]),
        ("DeepScaleR-1.5B-Preview", [43.1, 87.8, 73.6, 30.2, 50.0, 57.0]),
        ("Open-RS1 (paper)", [30.0, 83.8, 70.0, 29.0, 52.4, 53.0]),
        ("Open-RS2 (paper)", [30.0, 85.4, 80.0, 30.5, 52.4, 55.7]),
        ("Open-RS3 (paper)", [46.7, 84.4, 72.5, 26.8, 51.3, 56.3]),
    ]

    static func percent(_ value: Double) -> String { String(format1: value * 100) }

    /// A Markdown report: the paper's table with this run's row on top, then per-task details.
    public func markdown() -> String {
        let columns = EvaluationTask.openRS.map(\.name)
        let headers = EvaluationTask.openRS.map(\.displayName)
        var lines: [String] = []
        lines.append("# Evaluation of \(model)")
        lines.append("")
        lines.append(settings.keys.sorted().map { "\($0) \(settings[$0]!)" }.joined(separator: ", "))
        lines.append("")
        let extra = tasks.filter { !columns.contains($0.task) }
        lines.append("## Zero-shot accuracy (%, one sample per problem) next to the paper's Table 2")
        lines.append("")
        lines.append("| model | " + (headers + extra.map(\.displayName)).joined(separator: " | ") + " | Avg |")
        lines.append("|---" + String(repeating: "|---", count: headers.count + extra.count + 1) + "|")
        var ours: [String] = []
        for name in columns + extra.map(\.task) {
            if let task = tasks.first(where: { $0.task == name }) {
                ours.append("\(Self.percent(task.accuracy.value)) ± \(Self.percent(task.accuracy.standardError))")
            } else {
                ours.append("–")
            }
        }
        let allFive = columns.allSatisfy { name in tasks.contains { $0.task == name } } && extra.isEmpty
        let average = Self.percent(averageAccuracy) + (allFive ? "" : " (\(tasks.count) tasks)")
        lines.append("| **\(model)** (this run) | " + ours.joined(separator: " | ") + " | \(average) |")
        for row in Self.paperRows {
            let cells = row.values.map { $0.map { String(format1: $0) } ?? "–" }
            let padded = Array(cells.prefix(headers.count)) + [String](repeating: "", count: extra.count) + [cells.last!]
            lines.append("| \(row.model) | " + padded.joined(separator: " | ") + " |")
        }
        lines.append("")
        lines.append("Paper rows: Open-RS rows are single-sample lighteval runs; the other rows are quoted by the paper. ± is one standard error.")
        lines.append("")
        lines.append("## Per task")
        lines.append("")
        let ks = tasks.first?.passAtK.map(\.k) ?? []
        lines.append("| task | problems | samples | accuracy | " + ks.map { "pass@\($0)" }.joined(separator: " | ")
                     + (ks.isEmpty ? "" : " | ") + "mean tokens | eos / length | gold unparseable | s / problem |")
        lines.append("|---" + String(repeating: "|---", count: 8 + ks.count - 1) + "|")
        for task in tasks {
            let passes = ks.map { k in
                task.passAtK.first { $0.k == k }.map { "\(Self.percent($0.value)) ± \(Self.percent($0.standardError))" } ?? "–"
            }
            let seconds = timing[task.task]?.secondsPerProblem.map { $0 < 10 ? String(format3: $0) : String(format1: $0) } ?? "–"
            let incomplete = task.incompleteProblems > 0 ? " (\(task.incompleteProblems) incomplete)" : ""
            lines.append("| \(task.displayName) | \(task.problems)\(incomplete) | \(task.samplesPerProblem) | "
                         + "\(Self.percent(task.accuracy.value)) ± \(Self.percent(task.accuracy.standardError)) | "
                         + passes.joined(separator: " | ") + (passes.isEmpty ? "" : " | ")
                         + "\(String(format1: task.meanTokens)) | \(task.finishReasons["eos"] ?? 0) / \(task.finishReasons["length"] ?? 0) | "
                         + "\(task.goldUnparseable.count) | \(seconds) |")
        }
        let unparseable = tasks.filter { !$0.goldUnparseable.isEmpty }
        if !unparseable.isEmpty {
            lines.append("")
            lines.append("## Gold answers RLMath cannot parse (counted as wrong)")
            lines.append("")
            for task in unparseable {
                lines.append("- \(task.displayName): " + task.goldUnparseable.joined(separator: ", "))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `markdown()` to `summary.md` in `folder`, atomically.
    public func writeMarkdown(to folder: URL) throws {
        try Data(markdown().utf8).write(to: folder.appendingPathComponent("summary.md"), options: .atomic)
    }
}

extension String {
    /// `value` with three decimals.
    init(format3 value: Double) {
        guard value.isFinite else { self = "\(value)"; return }
        let thousandths = Int((abs(value) * 1000).rounded())
        let fraction = String(thousandths % 1000)
        self = (value < 0 && thousandths > 0 ? "-" : "") + "\(thousandths / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// `value` with one decimal (no Foundation `String(format:)` needed).
    init(format1 value: Double) {
        guard value.isFinite else { self = "\(value)"; return }
        let tenths = (abs(value) * 10).rounded()
        let sign = value < 0 && tenths > 0 ? "-" : ""
        self = "\(sign)\(Int(tenths) / 10).\(Int(tenths) % 10)"
    }
}
