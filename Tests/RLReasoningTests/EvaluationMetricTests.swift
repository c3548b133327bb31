import FoundationEssentials
import RLModel
import RLReasoning
import Testing
import RLTestSupport

/// A canned `CompletionGenerator`: the completion of (problem, sample) comes from a closure, so
/// these tests exercise scoring, files and resume, not the model.
final class CannedGenerator: CompletionGenerator {
    let preferredBatchSize: Int
    let answer: (String, Int) -> String
    /// Throw after this many completions (an interrupted run).
    var failAfter: Int?
    private(set) var completions = 0
    private(set) var calls: [(messages: Int, samplesPerPrompt: Int)] = []
    /// The seeds each message's completions were generated with.
    private(set) var seedsByMessage: [String: Set<UInt64>] = [:]

    struct Interrupted: Error {}

    init(batchSize: Int = 2, answer: @escaping (String, Int) -> String) {
        preferredBatchSize = batchSize
        self.answer = answer
    }

    func generate(messages: [String], samplesPerPrompt: Int, seeds: [UInt64],
                  onCompletion: (Int, Int, GeneratedCompletion) throws -> Void) throws {
        #expect(seeds.count == messages.count * samplesPerPrompt)
        calls.append((messages.count, samplesPerPrompt))
        // Finish in reverse order, as a batch does when later sequences stop first.
        for index in (0..<(messages.count * samplesPerPrompt)).reversed() {
            if let failAfter, completions >= failAfter { throw Interrupted() }
            let (prompt, sample) = (index / samplesPerPrompt, index % samplesPerPrompt)
            let text = answer(messages[prompt], sample)
            seedsByMessage[messages[prompt], default: []].insert(seeds[index])
            completions += 1
            try onCompletion(prompt, sample, GeneratedCompletion(text: text, tokenCount: text.utf8.count,
                                                                 finishReason: sample == 3 ? .length : .eos))
        }
    }
}

func temporaryDirectory(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("rl-eval-\(name)-\(UInt64.random(in: 0..<UInt64.max))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite("Evaluation metrics")
struct EvaluationMetricTests {
    @Test func passAtKMatchesHandComputedValues() throws {
        #expect(abs(try PassAtK.estimate(samples: 5, correct: 2, k: 1) - 0.4) < 1e-12)
        // 1 - C(3,2)/C(5,2) = 1 - 3/10
        #expect(abs(try PassAtK.estimate(samples: 5, correct: 2, k: 2) - 0.7) < 1e-12)
        // n - c < k: every k-subset holds a correct sample
        #expect(try PassAtK.estimate(samples: 5, correct: 2, k: 4) == 1)
        // 1 - C(7,5)/C(10,5) = 1 - 21/252
        #expect(abs(try PassAtK.estimate(samples: 10, correct: 3, k: 5) - (1 - 21.0 / 252)) < 1e-12)
        #expect(try PassAtK.estimate(samples: 10, correct: 0, k: 5) == 0)
        #expect(try PassAtK.estimate(samples: 1, correct: 1, k: 1) == 1)
        // Large n stays finite and exact enough: 1 - C(900,10)/C(1000,10)
        var ratio = 1.0
        for i in 0..<10 { ratio *= Double(900 - i) / Double(1000 - i) }
        #expect(abs(try PassAtK.estimate(samples: 1000, correct: 100, k: 10) - (1 - ratio)) < 1e-12)
        #expect(PassAtK.defaultKs(samples: 1) == [1])
        #expect(PassAtK.defaultKs(samples: 8) == [1, 2, 4, 8])
        #expect(PassAtK.defaultKs(samples: 6) == [1, 2, 4, 6])
    }

    @Test func standardErrorIsLightevals() throws {
        // The reference's example: 0.3 on n = 30 has stderr 0.0851.
        let values = [Double](repeating: 1, count: 9) + [Double](repeating: 0, count: 21)
        let (mean, se) = PassAtK.meanAndStandardError(values)
        #expect(abs(mean - 0.3) < 1e-12)
        #expect(abs(se - 0.0851) < 5e-5)
        #expect(PassAtK.meanAndStandardError([1]) == (1, 0))
    }

    @Test func promptIsTheReferenceTemplate() throws {
        let prompt = EvaluationPrompt.mathQuery("What is 1+1?")
        #expect(prompt == "Solve the following math problem efficiently and clearly.  The last line of your response should be of the following format: 'Therefore, the final answer is: $\\boxed{ANSWER}$. I hope it is correct' (without quotes) where ANSWER is just the final number or expression that solves the problem. Think step by step before answering.\n\nWhat is 1+1?")
    }

    /// Four problems: p1 (gold 42), p2 (gold 1/2), p3 (gold `???`, unparseable), p4 (gold 7, alt 8).
    func writeTask(in folder: URL) throws -> EvaluationTask {
        let rows = [
            #"{"id": "p1", "problem": "Q1", "answer": "42"}"#,
            #"{"id": "p2", "problem": "Q2", "answer": "\\frac{1}{2}"}"#,
            #"{"id": "p3", "problem": "Q3", "answer": "???"}"#,
            #"{"id": "p4", "problem": "Q4", "answer": 7, "alt": ["8"]}"#,
        ]
        try Data((rows.joined(separator: "\n") + "\n").utf8).write(to: folder.appendingPathComponent("toy.jsonl"))
        return EvaluationTask(name: "toy", displayName: "Toy", file: "toy.jsonl", alternativeAnswersColumn: "alt")
    }

    /// Correct samples per problem with 4 samples: p1 all 4, p2 samples 0 and 2, p3 none (gold
    /// unparseable), p4 sample 1 only (through its alternative answer).
    static func answer(_ message: String, _ sample: Int) -> String {
        if message.hasSuffix("Q1") { return "The sum is 42. Therefore, the final answer is: $\\boxed{42}$. I hope it is correct" }
        if message.hasSuffix("Q2") { return sample % 2 == 0 ? "so $\\boxed{0.5}$" : "so $\\boxed{\\frac{1}{3}}$" }
        if message.hasSuffix("Q3") { return "$\\boxed{3}$" }
        return sample == 1 ? "\\boxed{8}" : "\\boxed{9}"
    }

    @Test func singleSampleAccuracyAndUnparseableGolds() throws {
        let folder = try temporaryDirectory("single")
        defer { try? FileManager.default.removeItem(at: folder) }
        let task = try writeTask(in: folder)
        let output = folder.appendingPathComponent("out")
        let generator = CannedGenerator(answer: Self.answer)
        let runner = try EvaluationRunner(generator: generator, configuration: EvaluationConfiguration(
            dataDirectory: folder, outputDirectory: output, samples: 1, modelName: "canned"))
        let summary = try runner.run(tasks: [task])
        let toy = try #require(summary.tasks.first)
        // Sample 0: p1 right, p2 right (0.5 = 1/2), p3 wrong (unparseable gold), p4 wrong (9).
        #expect(toy.accuracy.value == 0.5)
        #expect(abs(toy.accuracy.standardError - (1.0 / 3).squareRoot() / 2) < 1e-12)  // std of [1,1,0,0] = sqrt(1/3), over sqrt(4)
        #expect(toy.passAtK.map(\.k) == [1])
        #expect(toy.passAtK[0].value == 0.5)
        #expect(toy.goldUnparseable == ["p3"])
        #expect(toy.problems == 4 && toy.completions == 4 && toy.incompleteProblems == 0)
        #expect(summary.averageAccuracy == 0.5)
        #expect(generator.calls.map(\.messages) == [2, 2])

        let records = try EvaluationRecordFile(url: output.appendingPathComponent("toy.jsonl")).readRecords()
        #expect(records.count == 4)
        let p3 = try #require(records.first { $0.problemID == "p3" })
        #expect(p3.goldUnparseable && !p3.correct && p3.reason == "goldUnparseable" && p3.extractedAnswer == "3")
        let p2 = try #require(records.first { $0.problemID == "p2" })
        #expect(p2.correct && p2.extractedAnswer == "0.5" && p2.reason == nil && p2.finishReason == "eos")
        // The library writes data only; summary.md is the application's (RLApp).
        #expect(!FileManager.default.fileExists(atPath: output.appendingPathComponent("summary.md").path))
        let json = try Data(contentsOf: output.appendingPathComponent("summary.json"))
        let decoded = try JSONDecoder().decode(EvaluationSummary.self, from: json)
        #expect(decoded.tasks == summary.tasks)
    }

    @Test func passAtKWithSeveralSamples() throws {
        let folder = try temporaryDirectory("passk")
        defer { try? FileManager.default.removeItem(at: folder) }
        let task = try writeTask(in: folder)
        let output = folder.appendingPathComponent("out")
        let generator = CannedGenerator(answer: Self.answer)
        let summary = try EvaluationRunner(generator: generator, configuration: EvaluationConfiguration(
            dataDirectory: folder, outputDirectory: output, samples: 4, modelName: "canned")).run(tasks: [task])
        let toy = try #require(summary.tasks.first)
        // c = 4, 2, 0, 1 of n = 4.
        // pass@1 per problem: 1, 0.5, 0, 0.25 -> 0.4375
        // pass@2: 1, 1 - C(2,2)/C(4,2) = 5/6, 0, 1 - C(3,2)/C(4,2) = 0.5 -> (1 + 5/6 + 0.5) / 4
        // pass@4: 1, 1, 0, 1 -> 0.75
        #expect(toy.passAtK.map(\.k) == [1, 2, 4])
        #expect(abs(toy.passAtK[0].value - 0.4375) < 1e-12)
        #expect(abs(toy.passAtK[1].value - (1 + 5.0 / 6 + 0.5) / 4) < 1e-12)
        #expect(abs(toy.passAtK[2].value - 0.75) < 1e-12)
        let (_, se1) = PassAtK.meanAndStandardError([1, 0.5, 0, 0.25])
        #expect(abs(toy.passAtK[0].standardError - se1) < 1e-12)
        #expect(toy.accuracy.value == 0.5)  // sample 0 only
        #expect(toy.completions == 16)
        #expect(toy.finishReasons == ["eos": 12, "length": 4])
        #expect(summary.averagePassAtK[4] == 0.75)
        // Each call takes two prompts with all four samples.
        #expect(generator.calls.map(\.samplesPerPrompt) == [4, 4])
    }

    @Test func resumeAfterAnInterruptedRunGivesTheSameSummary() throws {
        let folder = try temporaryDirectory("resume")
        defer { try? FileManager.default.removeItem(at: folder) }
        let task = try writeTask(in: folder)
        func configuration(_ name: String) -> EvaluationConfiguration {
            EvaluationConfiguration(dataDirectory: folder, outputDirectory: folder.appendingPathComponent(name), samples: 3, modelName: "canned")
        }
        let straightGenerator = CannedGenerator(answer: Self.answer)
        let straight = try EvaluationRunner(generator: straightGenerator, configuration: configuration("straight")).run(tasks: [task])
        // Every completion has its own seed, whatever the batch size.
        let oneByOne = CannedGenerator(batchSize: 1, answer: Self.answer)
        _ = try EvaluationRunner(generator: oneByOne, configuration: configuration("one-by-one")).run(tasks: [task])
        #expect(oneByOne.seedsByMessage == straightGenerator.seedsByMessage)
        #expect(straightGenerator.seedsByMessage.values.allSatisfy { $0.count == 3 })

        let interrupted = CannedGenerator(answer: Self.answer)
        interrupted.failAfter = 5
        #expect(throws: CannedGenerator.Interrupted.self) {
            try EvaluationRunner(generator: interrupted, configuration: configuration("resumed")).run(tasks: [task])
        }
        let file = folder.appendingPathComponent("resumed/toy.jsonl")
        // A line cut off mid-write is dropped on resume.
        let handle = try Data(contentsOf: file) + Data(#"{"task": "toy", "problem_id": "p4", "sam"#.utf8)
        try handle.write(to: file)
        #expect(try EvaluationRecordFile(url: file).readRecords().count == 5)

        let resumedGenerator = CannedGenerator(answer: Self.answer)
        let resumed = try EvaluationRunner(generator: resumedGenerator, configuration: configuration("resumed")).run(tasks: [task])
        #expect(resumedGenerator.completions == 12 - 5)
        // The samples generated on resume drew the seeds the uninterrupted run gave them.
        for (message, seeds) in resumedGenerator.seedsByMessage {
            #expect(seeds.isSubset(of: straightGenerator.seedsByMessage[message] ?? []))
        }
        #expect(resumed.tasks == straight.tasks)
        #expect(resumed.averageAccuracy == straight.averageAccuracy)
        #expect(resumed.averagePassAtK == straight.averagePassAtK)
        #expect(try EvaluationRecordFile(url: file).readRecords().count == 12)

        // Other sampling settings are refused rather than mixed into the same folder.
        var changed = configuration("resumed")
        changed.settings["temperature"] = "1.0"
        #expect(throws: EvaluationError.self) {
            try EvaluationRunner(generator: CannedGenerator(answer: Self.answer), configuration: changed).run(tasks: [task])
        }

        // A third run finds everything done and generates nothing.
        let idle = CannedGenerator(answer: Self.answer)
        let again = try EvaluationRunner(generator: idle, configuration: configuration("resumed")).run(tasks: [task])
        #expect(idle.completions == 0 && again.tasks == straight.tasks)
    }

    /// Resuming is keyed on the model's content: other weights in a folder of the same name do not
    /// reuse the completions, the same weights under another name do, and a folder written by an
    /// earlier version (name only) is refused with the reason.
    @Test func resumeIsKeyedOnTheModelsFingerprintNotItsName() throws {
        let folder = try temporaryDirectory("fingerprint")
        defer { try? FileManager.default.removeItem(at: folder) }
        let task = try writeTask(in: folder)
        let output = folder.appendingPathComponent("out")
        func configuration(name: String, fingerprint: String?) -> EvaluationConfiguration {
            EvaluationConfiguration(dataDirectory: folder, outputDirectory: output, samples: 1, modelName: name, modelFingerprint: fingerprint)
        }
        _ = try EvaluationRunner(generator: CannedGenerator(answer: Self.answer), configuration: configuration(name: "ckpt", fingerprint: "aaa"))
            .run(tasks: [task])
        // Another checkpoint in a folder of the same name: refused, not reused.
        do {
            _ = try EvaluationRunner(generator: CannedGenerator(answer: Self.answer), configuration: configuration(name: "ckpt", fingerprint: "bbb"))
                .run(tasks: [task])
            Issue.record("completions of other weights were reused")
        } catch let error as EvaluationError {
            #expect("\(error)".contains("model_fingerprint (other weights or tokenizer)"), "\(error)")
        }
        // The same weights under another name: everything is reused.
        let renamed = CannedGenerator(answer: Self.answer)
        _ = try EvaluationRunner(generator: renamed, configuration: configuration(name: "copy-of-ckpt", fingerprint: "aaa")).run(tasks: [task])
        #expect(renamed.completions == 0)

        // A run.json of an earlier version (the folder name only): refused with the reason.
        try Data(#"{"model": "ckpt", "prompt": "math-query", "seed": "1234"}"#.utf8).write(to: output.appendingPathComponent("run.json"))
        #expect { try EvaluationRunner(generator: CannedGenerator(answer: Self.answer), configuration: configuration(name: "ckpt", fingerprint: "aaa"))
            .run(tasks: [task]) } throws: { "\($0)".contains("known only by its folder name (\"ckpt\"") }
        // Without a fingerprint (a library caller's own generator) the name still keys it.
        let byName = CannedGenerator(answer: Self.answer)
        _ = try EvaluationRunner(generator: byName, configuration: configuration(name: "ckpt", fingerprint: nil)).run(tasks: [task])
        #expect(byName.completions == 0)
    }

    @Test func limitAndProgress() throws {
        let folder = try temporaryDirectory("limit")
        defer { try? FileManager.default.removeItem(at: folder) }
        let task = try writeTask(in: folder)
        let runner = try EvaluationRunner(generator: CannedGenerator(answer: Self.answer), configuration: EvaluationConfiguration(
            dataDirectory: folder, outputDirectory: folder.appendingPathComponent("out"), samples: 2, limit: 3))
        var seen: [EvaluationProgress] = []
        runner.onProgress = { seen.append($0) }
        let summary = try runner.run(tasks: [task])
        #expect(summary.tasks[0].problems == 3)
        #expect(seen.first?.done == 0 && seen.last?.done == 6 && seen.allSatisfy { $0.total == 6 })
    }

    /// The built-in benchmark files are the bytes of the repository's `Data/eval` files.
    @Test func builtInTaskFilesAreTheDataFolder() throws {
        for task in EvaluationTask.openRS {
            let onDisk = try Data(contentsOf: Fixtures.dataDirectory.appendingPathComponent("eval/\(task.file)"))
            #expect(EvaluationTask.builtinFile(named: task.file) == Array(onDisk), "\(task.file)")
        }
        #expect(EvaluationTask.builtinFile(named: "train.jsonl") == nil)
        #expect(throws: EvaluationError.self) { try EvaluationTask(name: "x", file: "nope.jsonl").loadProblems() }
    }

    /// An empty (or blank) task file is an error, not a summary of nothing with exit 0.
    @Test func anEmptyTaskFileIsAnError() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rl-empty-task-\(UInt64.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("empty.jsonl")
        for text in ["", "\n  \n"] {
            try Data(text.utf8).write(to: file)
            #expect { _ = try EvaluationTask(name: "empty", file: file.path).loadProblems() } throws: {
                "\($0)" == "\(file.path):1: the task file holds no problems"
            }
        }
    }

    @Test func openRSTaskFilesLoad() throws {
        let counts = try EvaluationTask.openRS.map { try $0.loadProblems().count }
        #expect(counts == [30, 500, 40, 272, 675])
        let minerva = try EvaluationTask.named("minerva")!.loadProblems()
        #expect(minerva[2].golds == ["41.8", "41.8^\\circ", "41.8^{\\circ}"])
        #expect(EvaluationTask.named("math_500")?.name == "math500")
    }

    /// The harness's premise on the real files: every gold parses, a completion ending in the
    /// reference's final-answer sentence with the gold boxed scores correct, and for MATH-500 and
    /// Minerva the `solution` text (the reference's gold column) scores correct against `answer`
    /// (the column used here), so the two choices agree.
    @Test func openRSGoldsParseAndAgreeWithSolutions() throws {
        let eval = Fixtures.dataDirectory.appendingPathComponent("eval")
        let scorer = EvaluationScorer()
        for task in EvaluationTask.openRS {
            let problems = try task.loadProblems(dataDirectory: eval)
            let solutions = task.name == "math500" || task.name == "minerva"
                ? try EvaluationTask(name: task.name, file: task.file, answerColumn: "solution").loadProblems(dataDirectory: eval).map { $0.golds[0] }
                : nil
            var failures: [String] = []
            for (index, problem) in problems.enumerated() {
                let golds = scorer.parseableGolds(of: problem)
                if golds.isEmpty { failures.append("\(problem.id): gold unparseable"); continue }
                var completions = ["Therefore, the final answer is: $\\boxed{\(problem.golds[0])}$. I hope it is correct"]
                if let solutions { completions.append(solutions[index]) }
                for text in completions {
                    let record = scorer.score(task: task.name, problem: problem, parseableGolds: golds, sample: 0,
                                              completion: GeneratedCompletion(text: text, tokenCount: 1, finishReason: .eos))
                    if !record.correct { failures.append("\(problem.id): \(record.extractedAnswer ?? "nil") vs \(problem.golds[0])") }
                }
            }
            #expect(failures.isEmpty, "\(task.name): \(failures.prefix(10))")
        }
    }
}
