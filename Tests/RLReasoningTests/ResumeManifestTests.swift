import FoundationEssentials
import RLModel
@testable import RLReasoning
import RLTensor
import RLTestSupport
import Testing

/// `--resume` compares the checkpoint's run manifest with the resuming run's: another model,
/// dataset or math setting is refused with the differing keys unless explicitly allowed, and a
/// checkpoint of a model with another layer count is refused clearly (it used to trap or resume
/// partly).
@Suite("Resume manifest", .serialized)
struct ResumeManifestTests {
    func folder(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("rl-manifest-\(name)-\(UInt64.random(in: 0 ... .max))")
    }

    func trainer(policy: DecoderModel? = nil, dataset: PromptDataset? = nil,
                 _ change: (inout GRPOConfiguration) -> Void = { _ in }) throws -> GRPOTrainer {
        var c = smallConfiguration()
        change(&c)
        let trainer = try GRPOTrainer(configuration: c, policy: try policy ?? fixturePolicy(), tokenizer: try fixtureTokenizer(),
                                      dataset: try dataset ?? arithmeticDataset())
        trainer.log = { _ in }
        return trainer
    }

    /// The fixture's architecture with `layers` decoder layers and random weights.
    func model(layers: Int) throws -> DecoderModel {
        var config = try fixturePolicy().config
        config.numHiddenLayers = layers
        config.layerTypes = config.layerTypes.map { _ in Array(repeating: "full_attention", count: layers) }
        return DecoderModel(randomWeights: config, seed: 3)
    }

    /// The error of `body`, which must be a `resumeMismatch`.
    func mismatch(_ body: () throws -> Void) -> (keys: [String], text: String)? {
        do {
            try body()
        } catch let error as TrainingError {
            if case let .resumeMismatch(_, _, keys) = error { return (keys, error.description) }
            Issue.record("another error: \(error)")
        } catch {
            Issue.record("another error: \(error)")
        }
        return nil
    }

    @Test func everyCheckpointHasAManifest() throws {
        let output = folder("written")
        defer { try? FileManager.default.removeItem(at: output) }
        let run = try trainer()
        run.modelFingerprint = "abc"
        try run.train(output: output, stopAfterStep: 2)
        let stored = try #require(try RunManifest.read(from: output.appendingPathComponent("checkpoint-2")))
        #expect(stored == run.manifest)
        for key in ["model.weights", "model.num_hidden_layers", "dataset", "learning_rate", "num_generations", "per_device_train_batch_size",
                    "beta", "loss_type", "max_completion_length", "seed", "use_peft", "tokenizer", "importance_sampling_level",
                    "dynamic_sampling", "top_entropy_quantile"] {
            #expect(stored.entries[key] != nil, "no \(key)")
        }
        #expect(stored.entries["model.weights"] == "abc" && stored.entries["learning_rate"] == "0.001")
    }

    /// A damaged trainer_state.json is one plain line, not a `DecodingError.dataCorrupted(...)`
    /// dump (found by the hardening probe).
    @Test func aGarbageTrainerStateIsOnePlainLine() throws {
        let output = folder("garbage-state")
        defer { try? FileManager.default.removeItem(at: output) }
        try trainer().train(output: output, stopAfterStep: 2)
        let state = output.appendingPathComponent("checkpoint-2/trainer_state.json")
        for (text, expected) in [("{\"global_step\": 1e400", "could not be read: not valid JSON"),
                                 ("{\"global_step\": \"two\"}", "could not be read: ")] {
            try Data(text.utf8).write(to: state)
            #expect { try trainer().train(output: output, resume: true) } throws: { error in
                let message = "\(error)"
                return message.contains(expected) && !message.contains("DecodingError") && !message.contains("\n")
            }
        }
    }

    @Test func aChangedSettingIsRefusedUnlessAllowed() throws {
        let output = folder("setting")
        defer { try? FileManager.default.removeItem(at: output) }
        try trainer().train(output: output, stopAfterStep: 2)
        let faster = try trainer { $0.learningRate = 2e-3 }
        let refused = try #require(mismatch { try faster.train(output: output, resume: true) })
        #expect(refused.keys == ["learning_rate"])
        #expect(refused.text.contains("learning_rate 0.001 -> 0.002") && refused.text.contains("--resume-allow-changes learning_rate"),
                "\(refused.text)")
        #expect(!refused.text.contains("\n"))
        // Nothing was touched: the checkpoint is still the newest.
        #expect(TrainerCheckpoint.complete(in: output).map(\.step) == [2])

        // Allowed deliberately: the run goes on, and its new checkpoints record the new rate.
        try faster.train(output: output, resume: true, allowedChanges: ["learning_rate"])
        #expect(faster.step == 4)
        let stored = try #require(try RunManifest.read(from: output.appendingPathComponent("checkpoint-4")))
        #expect(stored.entries["learning_rate"] == "0.002")
    }

    @Test func anotherDatasetGroupSizeOrModelIsRefused() throws {
        let output = folder("inputs")
        defer { try? FileManager.default.removeItem(at: output) }
        let first = try trainer()
        first.modelFingerprint = "weights-1"
        try first.train(output: output, stopAfterStep: 2)

        let other = try trainer(dataset: arithmeticDataset(10)) { $0.numGenerations = 2; $0.perDeviceTrainBatchSize = 4 }
        other.modelFingerprint = "weights-2"
        let refused = try #require(mismatch { try other.train(output: output, resume: true) })
        #expect(refused.keys == ["dataset", "dataset.rows", "model.weights", "num_generations", "per_device_train_batch_size"], "\(refused.keys)")
        #expect(refused.text.contains("dataset (changed)") && refused.text.contains("num_generations 3 -> 2"), "\(refused.text)")

        // A name that is no manifest key is an error, not silently ignored.
        #expect { try first.train(output: output, resume: true, allowedChanges: ["learnig_rate"]) } throws: {
            "\($0)".contains("'learnig_rate' is not a run manifest key")
        }
    }

    @Test(arguments: [1, 3])
    func aCheckpointOfAnotherLayerCountIsRefused(layers: Int) throws {
        let output = folder("layers")
        defer { try? FileManager.default.removeItem(at: output) }
        try trainer().train(output: output, stopAfterStep: 2)
        let resized = try trainer(policy: try model(layers: layers))
        let refused = try #require(mismatch { try resized.train(output: output, resume: true) })
        #expect(refused.keys.contains("model.num_hidden_layers") && refused.text.contains("model.num_hidden_layers 2 -> \(layers)"))

        // Without a manifest (a checkpoint of an earlier version), or with every difference allowed,
        // the weights themselves are checked: a clear refusal, never a trap or a partial restore.
        try FileManager.default.removeItem(at: output.appendingPathComponent("checkpoint-2/\(RunManifest.fileName)"))
        #expect { try resized.train(output: output, resume: true) } throws: { error in
            let text = "\(error)"
            return text.contains("a model with 2 layers") && text.contains("this model has \(layers) (num_hidden_layers)")
        }
        #expect(resized.step == 0)
    }

    @Test func weightsOfAnotherShapeAreRefusedByName() throws {
        var stored: [String: Tensor] = ["a": .zeros([2, 3]), "b": .zeros([4])]
        let current: [String: Tensor] = ["a": .zeros([2, 4]), "b": .zeros([4])]
        let url = URL(fileURLWithPath: "/tmp/checkpoint-9")
        #expect { try TrainerCheckpoint.checkShapes(of: stored, against: current, what: "weights", checkpoint: url, layers: (2, 2)) }
            throws: { "\($0)".contains("a is [2, 3], this model's [2, 4]") }
        stored["a"] = .zeros([2, 4])
        try TrainerCheckpoint.checkShapes(of: stored, against: current, what: "weights", checkpoint: url, layers: (2, 2))
        stored["c"] = .zeros([1])
        #expect { try TrainerCheckpoint.checkShapes(of: stored, against: current, what: "weights", checkpoint: url, layers: (2, 2)) }
            throws: { "\($0)".contains("has unknown c") }
    }
}
