import FoundationEssentials
import RLModel
import RLTensor
import Testing
import RLTestSupport
@testable import RLReasoning

/// `rollout_dtype`: rollouts sampled from a bf16 copy of the policy's matrices.
@Suite("Rollout precision")
struct RolloutPrecisionTests {
    func trainer(_ precision: RolloutPrecision, policy: DecoderModel? = nil, dynamic: Bool = false) throws -> GRPOTrainer {
        var c = smallConfiguration()
        c.rolloutDtype = precision
        c.rewardWeights = nil
        c.dynamicSampling = dynamic
        let t = try GRPOTrainer(configuration: c, policy: policy ?? fixturePolicy(), tokenizer: try fixtureTokenizer(),
                                dataset: arithmeticDataset(), rewards: [CharacterSumReward()])
        t.log = { _ in }
        return t
    }

    @Test("bfloat16 samples from a fresh copy with the policy's matrices rounded to bf16; auto from the policy")
    func rolloutCopy() throws {
        let bf16 = try trainer(.bfloat16)
        let sampling = bf16.rolloutPolicy()
        #expect(sampling as AnyObject !== bf16.policy as AnyObject)
        for (name, weight) in bf16.policy.parameters {
            let copy = try #require(sampling.parameters[name])
            if weight.rank == 2 {
                #expect(copy.dtype == .bf16, "\(name)")
                #expect(copy.toFloatArray() == weight.cast(to: .bf16).toFloatArray(), "\(name)")
            } else {
                #expect(copy.dtype == .f32 && copy.toFloatArray() == weight.toFloatArray(), "\(name)")
            }
            #expect(weight.dtype == .f32, "the policy's \(name) changed type")
        }
        // Made from the current weights: a later call sees an update.
        let name = try #require(bf16.policy.parameters.keys.first { bf16.policy.parameters[$0]!.rank == 2 })
        let weight = try #require(bf16.policy.parameters[name])
        let before = sampling.parameters[name]!.toFloatArray()
        weight.scaleInPlace(by: 2)
        #expect(bf16.rolloutPolicy().parameters[name]!.toFloatArray() == weight.cast(to: .bf16).toFloatArray())
        #expect(sampling.parameters[name]!.toFloatArray() == before, "the earlier copy followed the policy")
        let auto = try trainer(.auto)
        #expect(auto.rolloutPolicy() as AnyObject === auto.policy as AnyObject)
    }

    @Test("a policy whose matrices are already bf16 (LoRA on a bf16 base) is sampled as it is")
    func bf16BaseKept() throws {
        let base = try DecoderModel.load(from: Fixtures.url("qwen2-tiny"), weightType: .bf16)
        try base.attachAdapters(LoRAAdapters(configuration: try LoRAConfiguration(rank: 2), model: base.config, seed: 1))
        let t = try trainer(.bfloat16, policy: base)
        #expect(t.rolloutPolicy() as AnyObject === t.policy as AnyObject)
    }

    @Test("training steps with bf16 rollouts run, plain and with dynamic sampling, and leave the policy f32",
          arguments: [false, true])
    func trainsWithBF16Rollouts(dynamic: Bool) throws {
        let t = try trainer(.bfloat16, dynamic: dynamic)
        for _ in 0..<2 {
            let metrics = try t.trainStep()
            #expect(metrics.loss.isFinite && metrics.gradNorm.isFinite)
        }
        #expect(t.policy.parameters.values.allSatisfy { $0.dtype == .f32 })
        #expect(t.manifest.entries["rollout_dtype"] == "bfloat16")
        #expect(try trainer(.auto).manifest.entries["rollout_dtype"] == nil)
    }

    @Test("bf16 rollouts keep bf16 activations on a GPU only")
    func activationType() {
        #expect(RolloutPrecision.bfloat16.activationType(on: .cuda(0)) == .bf16)
        #expect(RolloutPrecision.bfloat16.activationType(on: .cpu) == .f32)
        #expect(RolloutPrecision.auto.activationType(on: .cuda(0)) == .f32)
    }

    @Test("the memory plan holds the bf16 copy during generation, and only when one is made")
    func memoryPlan() throws {
        let policy = try fixturePolicy()
        var c = smallConfiguration()
        func rolloutPart(_ plan: MemoryPlan) -> MemoryPlan.Part? { plan.parts.first { $0.name == "rollout weights" } }
        #expect(rolloutPart(MemoryPlan(policy: policy, configuration: c, availableBytes: 1 << 50)) == nil)
        c.rolloutDtype = .bfloat16
        let plan = MemoryPlan(policy: policy, configuration: c, availableBytes: 1 << 50)
        let part = try #require(rolloutPart(plan))
        let matrices = policy.inferenceCopy(matrices: .bf16).parameters.values.filter { $0.rank == 2 }
        #expect(part.bytes == matrices.reduce(0) { $0 + $1.count * 2 })
        #expect(part.phase == "generation")
        let base = try DecoderModel.load(from: Fixtures.url("qwen2-tiny"), weightType: .bf16)
        try base.attachAdapters(LoRAAdapters(configuration: try LoRAConfiguration(rank: 2), model: base.config, seed: 1))
        #expect(rolloutPart(MemoryPlan(policy: base, configuration: c, availableBytes: 1 << 50)) == nil)
    }
}
