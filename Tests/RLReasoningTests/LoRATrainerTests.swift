import FoundationEssentials
import RLModel
@testable import RLReasoning
import RLTensor
import Testing
import RLTestSupport

/// GRPO with LoRA adapters: only the adapters move, the reference is the base with them switched
/// off (no copy), checkpoints are PEFT adapter folders and resuming is exact.
@Suite("GRPO trainer with LoRA")
struct LoRATrainerTests {
    /// The fixture policy with fresh adapters (dropout on, to cover its seeding).
    func loraPolicy(base weightType: DType = .f32, dropout: Double = 0.1) throws -> DecoderModel {
        let policy = try DecoderModel.load(from: Fixtures.url("qwen2-tiny"), weightType: weightType)
        let settings = try LoRAConfiguration(rank: 4, alpha: 8, dropout: dropout, targetModules: ["all-linear"])
        try policy.attachAdapters(LoRAAdapters(configuration: settings, model: policy.config, seed: 5))
        return policy
    }

    func configuration() -> GRPOConfiguration {
        var c = smallConfiguration()
        c.learningRate = 5e-3
        c.warmupRatio = 0
        c.rewardWeights = nil
        return c
    }

    func trainer(_ policy: DecoderModel) throws -> GRPOTrainer {
        let trainer = try GRPOTrainer(configuration: configuration(), policy: policy, tokenizer: try fixtureTokenizer(),
                                      dataset: arithmeticDataset(), rewards: [CharacterSumReward()])
        trainer.log = { _ in }
        return trainer
    }

    @Test("only the adapters change; the first step's KL is zero because the reference is the base", arguments: [DType.f32, .bf16])
    func onlyAdaptersTrain(_ baseType: DType) throws {
        let policy = try loraPolicy(base: baseType)
        let baseBefore = policy.parameters.mapValues { $0.cast(to: .f32).toFloatArray() }
        let adaptersBefore = policy.adapters!.parameters.mapValues { $0.toFloatArray() }
        let trainer = try trainer(policy)
        let first = try trainer.trainStep()
        // B = 0: the adapted policy equals the base, so the KL to the reference is exactly 0.
        #expect(first.kl == 0)
        let second = try trainer.trainStep()
        #expect(second.kl > 0, "after an update the policy moved away from the base reference")
        #expect(policy.parameters.mapValues { $0.cast(to: .f32).toFloatArray() } == baseBefore)
        #expect(policy.adapters!.parameters.contains { adaptersBefore[$0.key]! != $0.value.toFloatArray() })
        #expect(policy.adapters!.isEnabled)
    }

    @Test("checkpoints hold PEFT adapter files; resuming reproduces the uninterrupted run")
    func resume() throws {
        let straight = try temporaryFolder("lora-straight"), staged = try temporaryFolder("lora-staged")
        defer { try? FileManager.default.removeItem(at: straight); try? FileManager.default.removeItem(at: staged) }
        let full = try trainer(try loraPolicy())
        try full.train(output: straight)
        let checkpoint = straight.appendingPathComponent("checkpoint-4")
        for name in ["adapter_config.json", "adapter_model.safetensors", "optimizer.safetensors", "trainer_state.json", "tokenizer.json"] {
            #expect(FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent(name).path), "missing \(name)")
        }
        #expect(!FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent("model.safetensors").path))

        let first = try trainer(try loraPolicy())
        try first.train(output: staged, stopAfterStep: 2)
        let second = try trainer(try loraPolicy())
        try second.train(output: staged, resume: true)
        let config = full.policy.config
        let a = try LoRAAdapters.load(from: checkpoint, model: config)
        let b = try LoRAAdapters.load(from: staged.appendingPathComponent("checkpoint-4"), model: config)
        for (name, tensor) in a.parameters { #expect(tensor.toFloatArray() == b.parameters[name]!.toFloatArray(), "\(name) differs") }
        #expect(a.parameters.values.contains { t in t.toFloatArray().contains { $0 != 0 } && t.shape[1] == 4 }, "B never moved")

        // A full fine-tuning run cannot resume from adapter checkpoints, nor the other way round.
        let fullWeights = try trainer(try fixturePolicy())
        // The run manifests differ (use_peft); allowed anyway, the checkpoint's contents are refused.
        #expect { try fullWeights.train(output: staged, resume: true) } throws: { "\($0)".contains("use_peft true -> false") }
        let differing = fullWeights.manifest.differences(from: try #require(try RunManifest.read(from: checkpoint)))
        #expect { try fullWeights.train(output: staged, resume: true, allowedChanges: Set(differing)) } throws: {
            "\($0)".contains("LoRA adapters")
        }
    }
}
