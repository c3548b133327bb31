import FoundationEssentials

/// A mean over problems with its standard error (sample std, divisor n - 1, over sqrt(n)).
public struct MetricValue: Codable, Sendable, Hashable {
    public var value: Double
    public var standardError: Double

    public init(value: Double, standardError: Double) {
        self.value = value
        self.standardError = standardError
    }

    enum CodingKeys: String, CodingKey { case value, standardError = "stderr" }
}

/// The unbiased pass@k estimate over the problems that have at least k samples.
public struct PassAtKValue: Codable, Sendable, Hashable {
    public var k: Int
    public var value: Double
    public var standardError: Double
    /// Problems that entered the mean.
    public var problems: Int

    enum CodingKeys: String, CodingKey { case k, value, standardError = "stderr", problems }
}

/// The metrics of one task, computed from its records alone (so a resumed run gives the same).
public struct TaskSummary: Codable, Sendable, Hashable {
    public var task: String
    public var displayName: String
    /// Problems evaluated (after `--limit`).
    public var problems: Int
    /// Samples asked for per problem.
    public var samplesPerProblem: Int
    /// Completions found in the output file for these problems.
    public var completions: Int
    /// Problems with fewer completions than asked for (an unfinished run).
    public var incompleteProblems: Int
    /// Single-sample accuracy (sample 0 of every problem), the paper's protocol.
    public var accuracy: MetricValue
    /// pass@k for k = 1 (the mean fraction correct over all samples) and further k.
    public var passAtK: [PassAtKValue]
    /// Problems whose gold answers RLMath cannot parse (their completions count as wrong).
    public var goldUnparseable: [String]
    /// Completions by finish reason (`eos`, `length`, `stop`).
    public var finishReasons: [String: Int]
    public var meanTokens: Double

    enum CodingKeys: String, CodingKey {
        case task, displayName = "display_name", problems, samplesPerProblem = "samples_per_problem", completions
        case incompleteProblems = "incomplete_problems", accuracy, passAtK = "pass_at_k"
        case goldUnparseable = "gold_unparseable", finishReasons = "finish_reasons", meanTokens = "mean_tokens"
    }

    /// Computes the metrics of `problems` from `records` (records of other problems, or with a
    /// sample index >= `samples`, are ignored; the first record of a (problem, sample) wins).
    public init(task: EvaluationTask, problems: [EvaluationProblem], records: [EvaluationRecord], samples: Int,
                ks: [Int]? = nil) {
        var byProblem: [String: [Int: EvaluationRecord]] = [:]
        let ids = Set(problems.map(\.id))
        for record in records where ids.contains(record.problemID) && record.sample >= 0 && record.sample < samples {
            if byProblem[record.problemID]?[record.sample] == nil { byProblem[record.problemID, default: [:]][record.sample] = record }
        }
        self.task = task.name
        displayName = task.displayName
        self.problems = problems.count
        samplesPerProblem = samples
        let kept = problems.flatMap { byProblem[$0.id].map { Array($0.values) } ?? [] }
        completions = kept.count
        incompleteProblems = problems.filter { (byProblem[$0.id]?.count ?? 0) < samples }.count
        let firstSamples = problems.compactMap { byProblem[$0.id]?[0] }.map { $0.correct ? 1.0 : 0.0 }
        let (mean, se) = PassAtK.meanAndStandardError(firstSamples)
        accuracy = MetricValue(value: mean, standardError: se)
        var passAtK: [PassAtKValue] = []
        for k in (ks ?? PassAtK.defaultKs(samples: samples)) where k >= 1 && k <= samples {
            let values = problems.compactMap { problem -> Double? in
                guard let samples = byProblem[problem.id], samples.count >= k else { return nil }
                // Cannot throw: 1 ≤ k ≤ samples.count by the filters above.
                return try! PassAtK.estimate(samples: samples.count, correct: samples.values.filter(\.correct).count, k: k)
            }
            let (mean, se) = PassAtK.meanAndStandardError(values)
            passAtK.append(PassAtKValue(k: k, value: mean, standardError: se, problems: values.count))
        }
        self.passAtK = passAtK
        goldUnparseable = problems.filter { problem in byProblem[problem.id]?.values.contains(where: \.goldUnparseable) ?? false }.map(\.id)
        finishReasons = Dictionary(grouping: kept, by: \.finishReason).mapValues(\.count)
        meanTokens = kept.isEmpty ? 0 : Double(kept.map(\.tokens).reduce(0, +)) / Double(kept.count)
    }
}

/// Generation time spent in this invocation (not part of the metrics; a resumed run only
/// counts what it generated).
public struct EvaluationTiming: Codable, Sendable, Hashable {
    public var seconds: Double
    public var completionsGenerated: Int
    public var problemsGenerated: Int
    public var secondsPerProblem: Double? { problemsGenerated > 0 ? seconds / Double(problemsGenerated) : nil }

    enum CodingKeys: String, CodingKey {
        case seconds, completionsGenerated = "completions_generated", problemsGenerated = "problems_generated"
    }

    public init(seconds: Double = 0, completionsGenerated: Int = 0, problemsGenerated: Int = 0) {
        self.seconds = seconds
        self.completionsGenerated = completionsGenerated
        self.problemsGenerated = problemsGenerated
    }
}

/// All tasks of a run, their average (the mean of the per-task numbers, as the paper's "Avg"),
/// the settings and the time taken. Written as `summary.json` and `summary.md`.
public struct EvaluationSummary: Codable, Sendable {
    public var model: String
    public var settings: [String: String]
    public var tasks: [TaskSummary]
    /// Mean of the tasks' single-sample accuracies.
    public var averageAccuracy: Double
    /// Mean of the tasks' pass@k, for the k every task reports.
    public var averagePassAtK: [Int: Double]
    public var timing: [String: EvaluationTiming]

    enum CodingKeys: String, CodingKey {
        case model, settings, tasks, averageAccuracy = "average_accuracy", averagePassAtK = "average_pass_at_k", timing
    }

    public init(model: String, settings: [String: String], tasks: [TaskSummary], timing: [String: EvaluationTiming] = [:]) {
        self.model = model
        self.settings = settings
        self.tasks = tasks
        self.timing = timing
        averageAccuracy = tasks.isEmpty ? 0 : tasks.map(\.accuracy.value).reduce(0, +) / Double(tasks.count)
        var average: [Int: Double] = [:]
        if let first = tasks.first {
            for k in first.passAtK.map(\.k) {
                let values = tasks.compactMap { $0.passAtK.first { $0.k == k }?.value }
                if values.count == tasks.count { average[k] = values.reduce(0, +) / Double(values.count) }
            }
        }
        averagePassAtK = average
    }

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
