import FoundationEssentials
import RLModel
import RLReasoning
import RLTensor
import RLTestSupport
import Testing

/// RLReasoning's entry points throw typed errors naming the argument instead of trapping.
@Suite("RLReasoning entry points throw on bad input")
struct EntryPointErrorTests {
    static let logProbs = Tensor([-1, -2, -0.5, -1.5, -1, -3] as [Float], shape: [2, 3])
    static let mask = Tensor([Float](repeating: 1, count: 6), shape: [2, 3])

    /// The argument a `TrainingError.invalidArgument` names.
    static func argument(_ body: () throws -> Void) -> String? {
        do { try body() } catch let TrainingError.invalidArgument(name, _) { return name } catch { return "other: \(error)" }
        return nil
    }

    @Test("grpoLoss: top_entropy_quantile < 1 without entropies, beta without reference, shapes that disagree")
    func grpoLossArguments() {
        var quantile = GRPOLossConfiguration(beta: 0)
        quantile.topEntropyQuantile = 0.2
        #expect(Self.argument {
            _ = try grpoLoss(logProbs: Self.logProbs, referenceLogProbs: nil, advantages: [1, -1], mask: Self.mask, configuration: quantile)
        } == "entropies")
        #expect(Self.argument {
            _ = try grpoLoss(logProbs: Self.logProbs, referenceLogProbs: nil, advantages: [1, -1], mask: Self.mask,
                             configuration: GRPOLossConfiguration(beta: 0.04))
        } == "referenceLogProbs")
        #expect(Self.argument {
            _ = try grpoLoss(logProbs: Self.logProbs, referenceLogProbs: nil, advantages: [1, -1, 0], mask: Self.mask,
                             configuration: GRPOLossConfiguration(beta: 0))
        } == "advantages")
        #expect(Self.argument {
            _ = try grpoLoss(logProbs: Self.logProbs, referenceLogProbs: nil, advantages: [1, -1], mask: Tensor([1, 1] as [Float], shape: [2, 1]),
                             configuration: GRPOLossConfiguration(beta: 0))
        } == "mask")
        // With the entropies the same call works.
        #expect(Self.argument {
            _ = try grpoLoss(logProbs: Self.logProbs, referenceLogProbs: nil, advantages: [1, -1], mask: Self.mask,
                             entropies: Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3]), configuration: quantile)
        } == nil)
    }

    @Test("advantages, reward batches, the repetition reward, pass@k and the evaluation runner throw on bad input")
    func otherArguments() {
        #expect(Self.argument { _ = try groupAdvantages(rewards: [1, 2, 3], groupSize: 2) } == "groupSize")
        #expect(Self.argument { _ = try normalizedThenSummedAdvantages(scores: [[1, 2]], weights: [], groupSize: 2) } == "scores")
        #expect(Self.argument { _ = try RewardBatch(completions: ["a", "b"], tokenCounts: [1], rows: [[:], [:]]) } == "tokenCounts")
        #expect(Self.argument { _ = try RepetitionPenaltyReward(ngramSize: 3, maxPenalty: 0.5) } == "maxPenalty")
        #expect(Self.argument { _ = try RepetitionPenaltyReward(ngramSize: 0) } == "ngramSize")
        #expect(Self.argument { _ = try PassAtK.estimate(samples: 4, correct: 1, k: 5) } == "k")
        #expect { _ = try EvaluationRunner(generator: CannedGenerator(answer: { _, _ in "1" }), configuration: EvaluationConfiguration(
            outputDirectory: FileManager.default.temporaryDirectory, samples: 0)) } throws: { "\($0)" == "setting 'samples': must be at least 1, got 0" }
    }

    @Test("PromptDataset(rows:) refuses no rows and names the row that lacks a required column")
    func inMemoryDataset() {
        #expect { _ = try PromptDataset(rows: []) } throws: { error in
            guard case TrainingError.emptyDataset = error else { return false }
            return true
        }
        #expect { _ = try PromptDataset(rows: [["problem": "1 + 1"], ["question": "2 + 2"]], requiredColumns: ["problem"]) } throws: { error in
            guard case let TrainingError.datasetRow(_, line, reason) = error else { return false }
            return line == 2 && reason == "missing or empty column 'problem'"
        }
    }

    @Test("a dataset file whose row lacks a required column is an error at load time naming the line")
    func fileMissingColumn() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("rl-columns-\(UInt64.random(in: 0 ... .max)).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"{"problem": "1 + 1", "solution": "2"}\#n{"problem": "2 + 2"}\#n"#.utf8).write(to: file)
        #expect { _ = try PromptDataset(contentsOf: file, requiredColumns: ["problem", "solution"]) } throws: { error in
            guard case let TrainingError.datasetRow(path, line, reason) = error else { return false }
            return path == file.path && line == 2 && reason == "missing or empty column 'solution'"
        }
        // Skipping is still there when asked for.
        let skipped = try PromptDataset(contentsOf: file, requiredColumns: ["problem", "solution"], onMalformedRow: .skip)
        #expect(skipped.rows.count == 1 && skipped.issues.map(\.line) == [2])
    }

    @Test("async train stops with CancellationError between steps; the saved checkpoints stay and a resume finishes the run")
    func asyncTrainIsCancellable() async throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("rl-cancel-\(UInt64.random(in: 0 ... .max))")
        defer { try? FileManager.default.removeItem(at: output) }
        func configuration() -> GRPOConfiguration {
            var c = smallConfiguration()
            c.maxSteps = 4
            c.saveSteps = 1
            return c
        }
        let outcome = await Task { () -> (step: Int, cancelled: Bool) in
            do {
                let trainer = try GRPOTrainer(configuration: configuration(), policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(),
                                              dataset: try arithmeticDataset())
                trainer.log = { _ in }
                trainer.onStep = { metrics, _ in if metrics.step == 2 { withUnsafeCurrentTask { $0?.cancel() } } }
                do {
                    try await trainer.train(output: output)
                } catch is CancellationError {
                    return (trainer.step, true)
                }
                return (trainer.step, false)
            } catch {
                return (-1, false)
            }
        }.value
        #expect(outcome.cancelled && outcome.step == 2, "\(outcome)")
        let names = try FileManager.default.contentsOfDirectory(atPath: output.path).filter { $0.hasPrefix("checkpoint-") }.sorted()
        #expect(names == ["checkpoint-1", "checkpoint-2"])
        #expect(MetricsLog(url: output.appendingPathComponent("metrics.jsonl")).read().map(\.step) == [1, 2])

        let resumed = try GRPOTrainer(configuration: configuration(), policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(),
                                      dataset: try arithmeticDataset())
        var lines: [String] = []
        resumed.log = { lines.append($0) }
        try await resumed.train(output: output, resume: true)
        #expect(resumed.step == 4)
        #expect(lines.contains { $0.hasPrefix("resumed from checkpoint-2") }, "\(lines)")
    }
}
