import FoundationEssentials
import RLModel
import RLReasoning
import RLTensor
import Testing
import RLTestSupport

func temporaryFolder(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("rl-\(name)-\(UInt64.random(in: 0 ... .max))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Metrics without the wall-clock fields.
func comparable(_ m: StepMetrics) -> StepMetrics {
    var copy = m
    copy.generationSeconds = 0
    copy.trainingSeconds = 0
    copy.tokensPerSecond = 0
    return copy
}

@Suite("GRPO trainer")
struct TrainerTests {
    @Test("a few optimizer steps lower the GRPO loss on a fixed batch")
    func lossGoesDown() throws {
        let policy = try fixturePolicy()
        let ids = Tensor((0..<24).map { Int32(($0 * 37) % 500 + 3) }, shape: [3, 8])
        let mask = Tensor([Float](repeating: 1, count: 12), shape: [3, 4])
        let configuration = GRPOLossConfiguration(beta: 0, lossType: .bnpo)
        let optimizer = AdamW()
        var losses: [Float] = []
        for _ in 0..<5 {
            // With a detached old policy the loss value is -mean(A * ratio); a positive advantage on
            // one row and negative on the others: the policy learns to prefer row 0.
            let (_, grads) = try valueAndGrad(at: policy.parameters) {
                let logps = try policy.tokenLogProbs(inputIDs: ids, lastTokens: 4)
                return try grpoLoss(logProbs: logps, referenceLogProbs: nil, advantages: [1, -0.5, -0.5], mask: mask, configuration: configuration).loss
            }
            let logps = try policy.tokenLogProbs(inputIDs: ids, lastTokens: 4).toFloatArray()
            // The quantity the gradient descends: -(sum of A_i * logp_i) / tokens.
            losses.append(-(logps[0..<4].reduce(0, +) - 0.5 * logps[4..<12].reduce(0, +)) / 12)
            optimizer.update(policy.parameters, gradients: grads, learningRate: 1e-3)
        }
        #expect(losses.last! < losses.first! - 1e-3, "surrogate did not decrease: \(losses)")
        for (a, b) in zip(losses, losses.dropFirst()) { #expect(b < a) }
    }

    @Test("training writes metrics, a report and checkpoints; resuming reproduces the uninterrupted run")
    func resumeEqualsUninterrupted() throws {
        let tokenizer = try fixtureTokenizer()
        let straight = try temporaryFolder("straight"), staged = try temporaryFolder("staged")
        defer { try? FileManager.default.removeItem(at: straight); try? FileManager.default.removeItem(at: staged) }

        let full = try GRPOTrainer(configuration: smallConfiguration(), policy: try fixturePolicy(), tokenizer: tokenizer, dataset: arithmeticDataset())
        full.log = { _ in }
        try full.train(output: straight)
        for name in ["metrics.jsonl", "completions.jsonl", "checkpoint-2/model.safetensors", "checkpoint-4/trainer_state.json",
                     "checkpoint-4/optimizer.safetensors", "checkpoint-4/config.json", "checkpoint-4/tokenizer.json"] {
            #expect(FileManager.default.fileExists(atPath: straight.appendingPathComponent(name).path), "missing \(name)")
        }
        // The report is the application's (RLApp's TrainingRunReporter), not the library's.
        #expect(!FileManager.default.fileExists(atPath: straight.appendingPathComponent("report.html").path))

        let first = try GRPOTrainer(configuration: smallConfiguration(), policy: try fixturePolicy(), tokenizer: tokenizer, dataset: arithmeticDataset())
        first.log = { _ in }
        try first.train(output: staged, stopAfterStep: 2)
        // A save killed half-way leaves a partial folder behind: it must be ignored.
        let partial = staged.appendingPathComponent(".checkpoint-3.partial")
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
        try Data([1, 2, 3]).write(to: partial.appendingPathComponent("model.safetensors"))
        let second = try GRPOTrainer(configuration: smallConfiguration(), policy: try fixturePolicy(), tokenizer: tokenizer, dataset: arithmeticDataset())
        var lines: [String] = []
        second.log = { lines.append($0) }
        try second.train(output: staged, resume: true)
        #expect(lines.first?.hasPrefix("resumed from checkpoint-2") == true)
        #expect(!FileManager.default.fileExists(atPath: partial.path))

        func metrics(_ folder: URL) throws -> [StepMetrics] {
            try Data(contentsOf: folder.appendingPathComponent("metrics.jsonl")).split(separator: UInt8(ascii: "\n"))
                .map { comparable(try JSONDecoder().decode(StepMetrics.self, from: Data($0))) }
        }
        let a = try metrics(straight), b = try metrics(staged)
        #expect(a.count == 4)
        #expect(a == b)
        // And the final weights agree.
        let wa = try DecoderModel.load(from: straight.appendingPathComponent("checkpoint-4")).parameters
        let wb = try DecoderModel.load(from: staged.appendingPathComponent("checkpoint-4")).parameters
        for (name, tensor) in wa { #expect(tensor.toFloatArray() == wb[name]!.toFloatArray(), "\(name) differs") }
    }

    @Test("a non-finite loss skips the update and leaves the weights untouched")
    func nonFiniteStepIsSkipped() throws {
        struct BrokenReward: PerCompletionReward {
            let name = "broken"
            func score(completion: String, tokenCount: Int, row: [String: String]) -> Float? { .nan }
        }
        var configuration = smallConfiguration()
        configuration.rewardWeights = nil
        let policy = try fixturePolicy()
        let before = policy.parameters.mapValues { $0.toFloatArray() }
        let trainer = try GRPOTrainer(configuration: configuration, policy: policy, tokenizer: try fixtureTokenizer(),
                                      dataset: arithmeticDataset(), rewards: [BrokenReward()])
        var logged: [String] = []
        trainer.log = { logged.append($0) }
        let metrics = try trainer.trainStep()
        #expect(metrics.skipped)
        #expect(logged.contains { $0.contains("not finite") })
        for (name, values) in before { #expect(policy.parameters[name]!.toFloatArray() == values, "\(name) changed") }
    }

    @Test("malformed dataset rows are reported with file and line, or stop the run")
    func malformedRows() throws {
        let folder = try temporaryFolder("dataset")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("train.jsonl")
        try Data("""
        {"problem": "1 + 1?", "answer": "2"}
        {"problem": "broken
        {"answer": "3"}

        {"problem": "2 + 2?", "answer": 4}
        """.utf8).write(to: file)
        let skipped = try PromptDataset(contentsOf: file, requiredColumns: ["problem"], onMalformedRow: .skip)
        #expect(skipped.rows.count == 2)
        #expect(skipped.rows[1]["answer"] == "4")
        #expect(skipped.issues.map(\.line) == [2, 3])
        #expect(skipped.issues[1].reason.contains("problem"))
        #expect(skipped.issues[0].description.hasPrefix(file.path + ":2:"))
        do {
            _ = try PromptDataset(contentsOf: file, requiredColumns: ["problem"], onMalformedRow: .fail)
            Issue.record("a malformed row did not stop the load")
        } catch let error as TrainingError {
            #expect(error.description.hasPrefix(file.path + ":2:"))
        }
    }
}
