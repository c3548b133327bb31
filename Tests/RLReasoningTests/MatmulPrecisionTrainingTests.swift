import RLModel
import RLTensor
import Testing
import RLTestSupport
@testable import RLReasoning

/// `matmul_precision`: the trainer's scoring and loss gradient at bf16 product precision.
@Suite("Training matmul precision")
struct MatmulPrecisionTrainingTests {
    func trainer(_ precision: MatmulPrecision) throws -> GRPOTrainer {
        var c = smallConfiguration()
        c.matmulPrecision = precision
        c.rewardWeights = nil
        let t = try GRPOTrainer(configuration: c, policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(),
                                dataset: arithmeticDataset(), rewards: [CharacterSumReward()])
        t.log = { _ in }
        return t
    }

    /// One step from the same weights and seed at each precision: the rollouts are the same
    /// (generation is not affected); on AMX tiles the gradient differs from the f32 one slightly
    /// (norms within 2 %), elsewhere the step is bit-identical. The manifest records
    /// the setting only when it is not the default, so earlier checkpoints still resume.
    @Test("bfloat16 products change the scoring and update slightly on AMX, nothing elsewhere; manifest key when set")
    func oneStep() throws {
        let (f32, bf16) = (try trainer(.float32), try trainer(.bfloat16))
        let (m32, m16) = (try f32.trainStep(), try bf16.trainStep())
        #expect(m16.reward == m32.reward && m16.completionLength == m32.completionLength)
        #expect(m16.gradNorm.isFinite && m16.loss.isFinite)
        #expect(abs(m16.gradNorm - m32.gradNorm) <= 0.02 * m32.gradNorm, "\(m16.gradNorm) vs \(m32.gradNorm)")
        // (Adam's first update is about lr * sign(gradient), so the weights can agree while the
        // gradients differ: the gradient norm and the loss are what show the rounding.)
        let same = m16.gradNorm == m32.gradNorm && m16.loss == m32.loss
        if MatmulPrecision.bfloat16IsAvailable(on: .cpu) {
            #expect(!same, "the bf16 run's gradient norm and loss are bit-identical to the f32 ones: nothing was rounded")
            #expect(!bf16.startWarnings.contains { $0.contains("matmul_precision") })
        } else {
            #expect(same, "without AMX tiles the step must be the f32 one")
            #expect(f32.policy.parameters.allSatisfy { name, weight in weight.toFloatArray() == bf16.policy.parameters[name]!.toFloatArray() })
            #expect(bf16.startWarnings.contains { $0.contains("matmulPrecision bfloat16 changes nothing") }, "\(bf16.startWarnings)")
        }
        #expect(bf16.manifest.entries["matmul_precision"] == "bfloat16")
        #expect(f32.manifest.entries["matmul_precision"] == nil)
    }

    @Test("the memory plan holds the rounded operands of the LM head's products where they are made")
    func memoryPlan() throws {
        let policy = try fixturePolicy()
        var c = smallConfiguration()
        func part(_ plan: MemoryPlan) -> MemoryPlan.Part? { plan.parts.first { $0.name == "bf16 products" } }
        #expect(part(MemoryPlan(policy: policy, configuration: c, availableBytes: 1 << 50)) == nil)
        c.matmulPrecision = .bfloat16
        let planned = part(MemoryPlan(policy: policy, configuration: c, availableBytes: 1 << 50))
        if MatmulPrecision.bfloat16IsAvailable(on: .cpu) {
            let bytes = try #require(planned).bytes
            // The fixture's head (512 x 64) packs whole; the rounded operand's chunk is fixed.
            #expect(bytes == 512 * 64 * 2 + CPUBackend.roundedChunkBytes)
        } else {
            #expect(planned == nil)
        }
    }
}
