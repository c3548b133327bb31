import FoundationEssentials
import RLModel
@testable import RLReasoning
import RLTestSupport
import Testing

/// What used to fail silently or without a reason: a dataset with no usable rows, a gold-answer
/// reward with no gold column, unparseable golds scored 1.0 but not counted, and evaluation
/// records dropped from the middle of a results file.
@Suite("Unclear or silent failures", .serialized)
struct UnclearFailureTests {
    func folder(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rl-unclear-\(name)-\(UInt64.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func noUsableRowsSaysWhy() throws {
        let root = try folder("rows")
        defer { try? FileManager.default.removeItem(at: root) }
        let skipped = root.appendingPathComponent("skipped.jsonl")
        try Data(#"{"question": "1+1?"}\#n{"question": "2+2?"}\#n"#.utf8).write(to: skipped)
        let empty = root.appendingPathComponent("empty.jsonl")
        try Data("\n  \n".utf8).write(to: empty)
        let noFiles = root.appendingPathComponent("none")
        try FileManager.default.createDirectory(at: noFiles, withIntermediateDirectories: true)
        for (url, reason) in [(skipped, "no usable rows: all 2 rows were skipped, e.g. \(skipped.path):1: missing or empty column 'problem'"),
                              (empty, "no usable rows: the file has no rows"),
                              (noFiles, "no usable rows: the folder holds no .jsonl files")] {
            #expect { _ = try PromptDataset(contentsOf: url, requiredColumns: ["problem"], onMalformedRow: .skip) } throws: { error in
                "\(error)" == "\(url.path): \(reason)"
            }
        }
    }

    func trainer(_ dataset: PromptDataset, _ change: (inout GRPOConfiguration) -> Void) throws -> GRPOTrainer {
        var c = smallConfiguration()
        c.maxSteps = 1
        c.gradientAccumulationSteps = 1
        change(&c)
        let trainer = try GRPOTrainer(configuration: c, policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(), dataset: dataset)
        trainer.log = { _ in }
        return trainer
    }

    @Test func aGoldRewardWithoutAnyGoldColumnIsRefused() throws {
        let rows = try PromptDataset(rows: (0..<4).map { ["problem": "What is \($0) + 2?", "final": String($0 + 2)] })
        for reward in [RewardName.accuracy, .cosine, .length] {
            #expect { _ = try trainer(rows) { $0.rewardFuncs = [.format, reward]; $0.rewardWeights = nil } } throws: { error in
                let text = "\(error)"
                return text.contains("setting 'goldColumns': reward '\(reward.rawValue)' needs a gold answer")
                    && text.contains("solution or answer") && text.contains("final, problem")
            }
        }
        // Naming the column fixes it.
        _ = try trainer(rows) { $0.rewardFuncs = [.accuracy]; $0.rewardWeights = nil; $0.goldColumns = ["final"] }
    }

    @Test func rowsWithoutGoldAreAWarningWhenTheRunStarts() throws {
        let rows = try PromptDataset(rows: (0..<4).map { $0 % 2 == 0 ? ["problem": "What is \($0) + 2?"] : ["problem": "What is \($0)?", "answer": String($0)] })
        let run = try trainer(rows) { $0.rewardFuncs = [.accuracy]; $0.rewardWeights = nil }
        var lines: [String] = []
        run.log = { lines.append($0) }
        let output = try folder("gold")
        defer { try? FileManager.default.removeItem(at: output) }
        try run.train(output: output)
        #expect(lines.first == "warning: 2 of 4 rows have no gold answer (solution or answer; e.g. row 1); reward 'accuracy' "
                + "gives their completions no score", "\(lines)")
    }

    /// With `unparseable_gold: reference` such completions score 1.0; `unparseable_golds` still
    /// counts them (it said 0).
    @Test func unparseableGoldsAreCountedUnderEveryPolicy() throws {
        let rows = try PromptDataset(rows: (0..<4).map { ["problem": "What is \($0)?", "answer": "\\frac{"] })
        for policy in UnparseableGoldPolicy.allCases {
            let run = try trainer(rows) { $0.rewardFuncs = [.accuracy]; $0.rewardWeights = nil; $0.unparseableGold = policy }
            let metrics = try run.trainStep()
            #expect(metrics.unparseableGolds == 6, "\(policy): \(metrics.unparseableGolds)")
        }
    }

    /// The fixture tokenizer with another chat template.
    func tokenizer(template: String) throws -> Tokenizer {
        let base = try fixtureTokenizer()
        return try Tokenizer(vocabulary: Dictionary(uniqueKeysWithValues: Tokenizer.byteLevelAlphabet.enumerated().map { ($1, Int32($0)) }),
                             merges: [], addedTokens: base.addedTokens, eosToken: "<|end|>", padToken: "<|end|>", chatTemplate: template)
    }

    /// A chat template that renders nothing used to reach `Generator.generate`'s precondition
    /// (a trap in `evaluate` and `grpo-train`; found by the hardening probe).
    @Test func aTemplateThatRendersAnEmptyPromptIsAnError() throws {
        let empty = try tokenizer(template: "{% if false %}x{% endif %}")
        var c = smallConfiguration()
        c.maxSteps = 1
        c.gradientAccumulationSteps = 1
        #expect {
            let run = try GRPOTrainer(configuration: c, policy: try fixturePolicy(), tokenizer: empty, dataset: arithmeticDataset())
            run.log = { _ in }
            _ = try run.trainStep()
        } throws: { "\($0)".contains("setting 'chat_template': renders an empty prompt") }
        let generator = try ModelCompletionGenerator(model: try fixturePolicy(), tokenizer: empty, maxNewTokens: 2,
                                                     sampling: SamplingParameters(temperature: 0, topP: 1))
        #expect {
            try generator.generate(messages: ["What is 1 + 1?"], samplesPerPrompt: 1, seeds: [1]) { _, _, _ in }
        } throws: { "\($0)".contains("the chat template renders an empty prompt") }
    }

    @Test func aBadRecordInTheMiddleOfAResultsFileIsAnErrorNotDropped() throws {
        let root = try folder("records")
        defer { try? FileManager.default.removeItem(at: root) }
        let url = root.appendingPathComponent("toy.jsonl")
        func record(_ sample: Int) throws -> String {
            try EvaluationRecord(task: "toy", problemID: "p1", sample: sample, completion: "x", extractedAnswer: nil, correct: false,
                                 goldUnparseable: false, reason: nil, tokens: 1, finishReason: "eos").jsonLine()
        }
        let text = try record(0) + "\n" + "{\"task\": \"toy\", garbage\n" + (try record(1)) + "\n"
        try Data(text.utf8).write(to: url)
        #expect { _ = try EvaluationRecordFile(url: url).readRecords() } throws: { error in
            "\(error)".hasPrefix("\(url.path):2: not an evaluation record")
        }
        // The file is left as it was (it used to be rewritten without the line).
        #expect(String(decoding: try Data(contentsOf: url), as: UTF8.self) == text)
        // A torn last line (no line break) is still repaired.
        try Data((try record(0) + "\n" + "{\"task\": \"to").utf8).write(to: url)
        #expect(try EvaluationRecordFile(url: url).readRecords().count == 1)
    }
}
