import FoundationEssentials
import RLModel
@testable import RLReasoning
import RLTensor
import RLTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Settings that cannot work are refused before training, and a run never goes on, or ends
/// "done", with destroyed weights.
@Suite("Training safety")
struct TrainingSafetyTests {
    static let badSettings: [(String, @Sendable (inout GRPOConfiguration) -> Void)] = [
        ("adam_epsilon", { $0.adamEpsilon = 0 }),
        ("adam_beta1", { $0.adamBeta1 = 1 }),
        ("adam_beta2", { $0.adamBeta2 = 1 }),
        ("learning_rate", { $0.learningRate = 1e38 }),
        ("learning_rate", { $0.learningRate = .nan }),
        ("learning_rate", { $0.learningRate = .infinity }),
        ("cosine_max_len", { $0.cosineMaxLength = 0 }),
        ("top_p", { $0.topP = 5 }),
        ("top_p", { $0.topP = 0 }),
        ("top_k", { $0.topK = -3 }),
        ("min_p", { $0.minP = 2 }),
        ("repetition_penalty", { $0.repetitionPenalty = 0 }),
        ("beta", { $0.beta = -1 }),
        ("warmup_ratio", { $0.warmupRatio = 5 }),
        ("max_grad_norm", { $0.maxGradNorm = 0 }),
        ("save_total_limit", { $0.saveTotalLimit = 0 }),
        ("per_device_train_batch_size", { $0.perDeviceTrainBatchSize = 0 }),
        ("repetition_max_penalty", { $0.repetitionMaxPenalty = 1 }),
        ("num_generations", { $0.numGenerations = 1_000_000_000; $0.perDeviceTrainBatchSize = 1_000_000_000 }),
        ("max_completion_length", { $0.maxCompletionLength = 10_000_000_000 }),
    ]

    @Test(arguments: badSettings.indices)
    func settingThatCannotWorkIsRefused(_ index: Int) {
        let (key, change) = Self.badSettings[index]
        for names in SettingNames.allCases {
            var c = smallConfiguration()
            c.settingNames = names
            change(&c)
            do {
                try c.validate()
                Issue.record("\(key): accepted")
            } catch let error as TrainingError {
                guard case .invalidSetting(let named, _) = error else { Issue.record("\(error)"); return }
                // The recipe key for a recipe's configuration, the Swift property otherwise.
                #expect(named == (names == .recipe ? key : c.settingName(key)), "\(error)")
                #expect(names == .recipe || !named.contains("_"), "\(error)")
            } catch {
                Issue.record("\(error)")
            }
        }
    }

    @Test func promptAndCompletionMustFitTheModelsPositions() throws {
        var c = smallConfiguration()
        c.maxCompletionLength = 250  // + 32 prompt tokens > the fixture's 256 positions
        #expect(throws: TrainingError.self) {
            _ = try GRPOTrainer(configuration: c, policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(), dataset: arithmeticDataset())
        }
    }

    @Test func anEmptyDatasetOrARowWithoutAPromptIsRefused() throws {
        #expect(throws: TrainingError.self) {
            _ = try GRPOTrainer(configuration: smallConfiguration(), policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(),
                                dataset: PromptDataset(rows: []))
        }
        let rows = [["problem": "What is 1 + 1?", "answer": "2"], ["question": "What is 2 + 2?", "answer": "4"]]
        do {
            _ = try GRPOTrainer(configuration: smallConfiguration(), policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(),
                                dataset: PromptDataset(rows: rows))
            Issue.record("a row without a prompt was accepted")
        } catch let error as TrainingError {
            guard case .datasetRow(_, let line, let reason) = error else { Issue.record("\(error)"); return }
            #expect(line == 2 && reason.contains("\"problem\""), "\(error)")
        }
    }

    @Test func aTokenizerLargerThanTheModelIsRefused() throws {
        var config = try fixturePolicy().config
        config.vocabSize = 200  // the fixture tokenizer has 261 tokens
        let small = DecoderModel(randomWeights: config, seed: 1)
        do {
            _ = try GRPOTrainer(configuration: smallConfiguration(), policy: small, tokenizer: try fixtureTokenizer(), dataset: arithmeticDataset())
            Issue.record("accepted")
        } catch let error as TrainingError {
            #expect(error.description.contains("261 tokens") && error.description.contains("200 embeddings"), "\(error)")
        }
    }

    @Test func aModelThatIsNaNFromTheStartIsRefused() throws {
        let policy = try fixturePolicy()
        let name = "model.norm.weight"
        policy.replaceParameters([name: Tensor([Float](repeating: .nan, count: policy.config.hiddenSize), shape: [policy.config.hiddenSize])])
        do {
            _ = try GRPOTrainer(configuration: smallConfiguration(), policy: policy, tokenizer: try fixtureTokenizer(), dataset: arithmeticDataset())
            Issue.record("a NaN model was accepted")
        } catch let error as TrainingError {
            guard case .nonFiniteWeights = error else { Issue.record("\(error)"); return }
        }
    }

    /// Weights destroyed mid-run: each step is skipped (weights unchanged) and the fifth in a
    /// row stops the run with an error naming the likely settings.
    @Test func destroyedWeightsStopTheRun() throws {
        let policy = try fixturePolicy()
        let trainer = try GRPOTrainer(configuration: smallConfiguration(), policy: policy, tokenizer: try fixtureTokenizer(),
                                      dataset: arithmeticDataset())
        trainer.log = { _ in }
        #expect(try !trainer.trainStep().skipped)
        let hidden = policy.config.hiddenSize
        policy.replaceParameters(["model.norm.weight": Tensor([Float](repeating: .nan, count: hidden), shape: [hidden])])
        for _ in 1...4 { #expect(try trainer.trainStep().skipped) }
        do {
            _ = try trainer.trainStep()
            Issue.record("a fifth skipped step did not stop the run")
        } catch let error as TrainingError {
            guard case .nonFiniteWeights(let reason) = error else { Issue.record("\(error)"); return }
            #expect(reason.contains("5 steps in a row") && reason.contains("learning_rate"), "\(reason)")
        }
    }

    /// A run shorter than five steps whose every step is skipped (here: a NaN reference model, so
    /// the KL term is NaN while the policy stays finite) ends with an error, not "done"
    /// (found by the hardening probe with lora_alpha 1e308).
    @Test func aRunWhoseEveryStepWasSkippedIsAnError() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("rl-all-skipped-\(UInt64.random(in: 0 ... .max))")
        defer { try? FileManager.default.removeItem(at: output) }
        var c = smallConfiguration()
        c.maxSteps = 2
        c.beta = 0.04
        let trainer = try GRPOTrainer(configuration: c, policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(), dataset: arithmeticDataset())
        trainer.log = { _ in }
        let reference = try #require(trainer.reference)
        let hidden = reference.config.hiddenSize
        reference.replaceParameters(["model.norm.weight": Tensor([Float](repeating: .nan, count: hidden), shape: [hidden])])
        #expect { try trainer.train(output: output) } throws: { error in
            guard case .nonFiniteWeights(let reason)? = error as? TrainingError else { return false }
            return reason.contains("every step of this run (2)")
        }
        #expect(MetricsLog(url: output.appendingPathComponent("metrics.jsonl")).read().map(\.skipped) == [true, true])
    }

    /// A skipped step is recorded in metrics.jsonl (its NaN loss as "nan"), and weights that are
    /// not finite are never written into a checkpoint.
    @Test func destroyedWeightsAreRecordedButNeverSaved() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("rl-safety-\(UInt64.random(in: 0 ... .max))")
        defer { try? FileManager.default.removeItem(at: output) }
        var c = smallConfiguration()
        c.saveSteps = 1
        let policy = try fixturePolicy()
        let trainer = try GRPOTrainer(configuration: c, policy: policy, tokenizer: try fixtureTokenizer(), dataset: arithmeticDataset())
        trainer.log = { _ in }
        let hidden = policy.config.hiddenSize
        trainer.onStep = { metrics, _ in
            // After step 1 is written (and before it is saved), the weights are destroyed.
            if metrics.step == 1 {
                policy.replaceParameters(["model.norm.weight": Tensor([Float](repeating: .nan, count: hidden), shape: [hidden])])
            }
        }
        do {
            try trainer.train(output: output)
            Issue.record("the run ended normally")
        } catch let error as TrainingError {
            guard case .nonFiniteWeights(let reason) = error else { Issue.record("\(error)"); return }
            #expect(reason.contains("not saving"), "\(reason)")
        }
        let steps = MetricsLog(url: output.appendingPathComponent("metrics.jsonl")).read()
        #expect(steps.map(\.step) == [1], "step 1 is recorded before its save is refused")
        #expect(!FileManager.default.fileExists(atPath: output.appendingPathComponent("checkpoint-1").path))

        // A NaN loss survives the round trip through metrics.jsonl.
        var skipped = try #require(steps.first)
        skipped.loss = .nan
        skipped.gradNorm = .infinity
        let log = MetricsLog(url: output.appendingPathComponent("nan.jsonl"))
        try log.append(skipped)
        let raw = try String(contentsOf: log.url, encoding: .utf8)
        #expect(raw.contains("\"loss\":\"nan\"") && raw.contains("\"grad_norm\":\"inf\""), "\(raw)")
        let back = try #require(log.read().first)
        #expect(back.loss.isNaN && back.gradNorm == .infinity)
    }
}

/// One writer per output folder: a held folder is refused, and a new run into a folder an
/// earlier run wrote to is refused unless it overwrites (which removes the old checkpoints).
@Suite("Output folder ownership", .serialized)
struct OutputFolderTests {
    func trainer(_ change: (inout GRPOConfiguration) -> Void = { _ in }) throws -> GRPOTrainer {
        var c = smallConfiguration()
        c.maxSteps = 2
        change(&c)
        let trainer = try GRPOTrainer(configuration: c, policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(),
                                      dataset: arithmeticDataset())
        trainer.log = { _ in }
        return trainer
    }

    @Test func aFolderInUseIsRefused() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("rl-lock-\(UInt64.random(in: 0 ... .max))")
        defer { try? FileManager.default.removeItem(at: output) }
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        // Another run's lock, as a second process would hold it.
        let descriptor = open(output.appendingPathComponent(".lock").path, O_RDWR | O_CREAT, 0o644)
        #expect(flock(descriptor, LOCK_EX | LOCK_NB) == 0)
        do {
            try trainer().train(output: output)
            Issue.record("a locked folder was accepted")
        } catch let error as TrainingError {
            guard case .outputInUse(let path) = error else { Issue.record("\(error)"); return }
            #expect(path == output.path && error.description.contains("another run"))
        }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        try trainer().train(output: output)  // free again
        #expect(MetricsLog(url: output.appendingPathComponent("metrics.jsonl")).read().map(\.step) == [1, 2])
    }

    @Test func aUsedFolderNeedsResumeOrOverwrite() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("rl-used-\(UInt64.random(in: 0 ... .max))")
        defer { try? FileManager.default.removeItem(at: output) }
        try trainer().train(output: output)
        do {
            try trainer().train(output: output)
            Issue.record("a second run into a used folder was accepted")
        } catch let error as TrainingError {
            guard case .outputNotEmpty(_, let contents) = error else { Issue.record("\(error)"); return }
            #expect(contents.contains("checkpoint-2") && contents.contains("metrics.jsonl"), "\(contents)")
            #expect(error.description.contains("--resume") && error.description.contains("--overwrite_output_dir"))
        }
        // Overwriting starts afresh: the old checkpoints go, so a later --resume cannot pick them up.
        let overwriting = try trainer { $0.maxSteps = 1; $0.overwriteOutputDir = true }
        try overwriting.train(output: output)
        let names = try FileManager.default.contentsOfDirectory(atPath: output.path).filter { $0.hasPrefix("checkpoint-") }
        #expect(names == ["checkpoint-1"], "\(names)")
    }
}

/// Pruning an old checkpoint renames it to a partial name before deleting it, so a kill during
/// the deletion leaves a partial folder (cleared at the next start), never a checkpoint that
/// looks complete but lacks its weights.
@Suite("Checkpoint pruning")
struct CheckpointPruningTests {
    @Test func aPrunedCheckpointNeverLooksComplete() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("rl-prune-\(UInt64.random(in: 0 ... .max))")
        defer { try? FileManager.default.removeItem(at: output) }
        for step in [1, 2] {
            let folder = output.appendingPathComponent("checkpoint-\(step)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data("{}".utf8).write(to: folder.appendingPathComponent(TrainerCheckpoint.stateFile))
            try Data([1, 2, 3]).write(to: folder.appendingPathComponent("model.safetensors"))
        }
        #expect(TrainerCheckpoint.complete(in: output).map(\.step) == [1, 2])
        TrainerCheckpoint.remove(output.appendingPathComponent("checkpoint-1"), in: output)
        #expect(TrainerCheckpoint.complete(in: output).map(\.step) == [2])
        #expect(try FileManager.default.contentsOfDirectory(atPath: output.path) == ["checkpoint-2"])
        // A deletion cut short after the rename: the partial folder is not a checkpoint and is cleared.
        let leftover = output.appendingPathComponent(".checkpoint-1.partial")
        try FileManager.default.createDirectory(at: leftover, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: leftover.appendingPathComponent(TrainerCheckpoint.stateFile))
        #expect(TrainerCheckpoint.complete(in: output).map(\.step) == [2])
        TrainerCheckpoint.removePartials(in: output)
        #expect(try FileManager.default.contentsOfDirectory(atPath: output.path) == ["checkpoint-2"])
    }
}
