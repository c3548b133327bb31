import FoundationEssentials
import RLModel
import RLReasoning
import RLTensor
import Testing
import RLTestSupport

/// Memory-lean full fine-tuning: bf16 state with stochastic rounding keeps the numerics of the
/// f32 mode.
@Suite("Lean full fine-tuning")
struct LeanMemoryTests {
    @Test("stochastic rounding keeps updates far below bf16's resolution (round-to-nearest loses them all)")
    func stochasticAccumulation() {
        let accumulator = Tensor.ones([4096], dtype: .bf16)
        let step = Tensor.full([4096], value: 1e-4)
        for k in 0..<1000 { accumulator.accumulateStochastically(step, seed: UInt64(k)) }
        let values = accumulator.toFloatArray()
        let mean = values.reduce(0, +) / Float(values.count)
        #expect(abs(mean - 1.1) < 0.01, "mean \(mean), expected 1.1")
        // Round-to-nearest: 1 + 1e-4 rounds back to 1 every time.
        var nearest = Tensor.ones([4], dtype: .bf16)
        for _ in 0..<1000 { nearest = (nearest.cast(to: .f32) + Tensor.full([4], value: 1e-4)).cast(to: .bf16) }
        #expect(nearest.toFloatArray() == [1, 1, 1, 1])
        #expect(Tensor([3, 4] as [Float], shape: [2]).cast(to: .bf16).sumOfSquares() == 25)
    }

    @Test("AdamW with bf16 moments tracks AdamW with f32 moments, and its second moment keeps moving")
    func adamTracks() {
        let target = Tensor.randomNormal([64, 32], seed: 1)
        let start = Tensor.randomNormal([64, 32], seed: 2)
        func run(_ type: DType) -> (losses: [Float], optimizer: AdamW) {
            let w = start.copied()
            let optimizer = AdamW(momentType: type)
            var losses: [Float] = []
            for _ in 0..<300 {
                let (loss, grads) = valueAndGrad(at: ["w": w]) { (w - target).square().mean() }
                losses.append(loss.item())
                optimizer.update(["w": w], gradients: grads, learningRate: 1e-2)
            }
            return (losses, optimizer)
        }
        let (exact, _) = run(.f32), (lean, optimizer) = run(.bf16)
        #expect(lean.last! < exact.first! * 0.05, "the lean run did not learn: \(lean.first!) -> \(lean.last!)")
        for (a, b) in zip(exact, lean) { #expect(abs(a - b) <= 0.03 * max(a, 1e-3), "f32 \(a) vs bf16 \(b)") }
        #expect(optimizer.secondMoments["w"]!.dtype == .bf16)
    }

    func configuration(lean: Bool) -> GRPOConfiguration {
        var c = smallConfiguration()
        c.leanMemory = lean
        c.learningRate = 3e-3
        c.warmupRatio = 0
        c.rewardWeights = nil
        c.maxSteps = 6
        c.saveSteps = 3
        return c
    }

    @Test("the lean trainer's loss and KL curves track the f32 trainer's on the fixture task")
    func trainerTracks() throws {
        func run(lean: Bool) throws -> [StepMetrics] {
            let trainer = try GRPOTrainer(configuration: configuration(lean: lean), policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(),
                                          dataset: arithmeticDataset(), rewards: [CharacterSumReward()])
            trainer.log = { _ in }
            return try (0..<4).map { _ in try trainer.trainStep() }
        }
        let exact = try run(lean: false), lean = try run(lean: true)
        // Step 1 samples from identical weights: identical rewards; later steps sample from weights
        // that differ by bf16 rounding of the state, so only the trend is compared.
        #expect(exact[0].reward == lean[0].reward)
        #expect(abs(exact[0].loss - lean[0].loss) <= 1e-3 * max(1, abs(exact[0].loss)))
        #expect(abs(exact[0].gradNorm - lean[0].gradNorm) <= 0.01 * exact[0].gradNorm, "\(exact[0].gradNorm) vs \(lean[0].gradNorm)")
        for (a, b) in zip(exact, lean).dropFirst() {
            #expect(abs(a.kl - b.kl) <= 0.25 * max(a.kl, 1e-4), "KL f32 \(a.kl) vs lean \(b.kl)")
        }
    }

    @Test("a lean run resumes exactly; lean mode refuses LoRA policies")
    func resumeAndRefusal() throws {
        let straight = try temporaryFolder("lean-straight"), staged = try temporaryFolder("lean-staged")
        defer { try? FileManager.default.removeItem(at: straight); try? FileManager.default.removeItem(at: staged) }
        func trainer() throws -> GRPOTrainer {
            let t = try GRPOTrainer(configuration: configuration(lean: true), policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(),
                                    dataset: arithmeticDataset(), rewards: [CharacterSumReward()])
            t.log = { _ in }
            return t
        }
        try trainer().train(output: straight)
        try trainer().train(output: staged, stopAfterStep: 3)
        try trainer().train(output: staged, resume: true)
        let a = try DecoderModel.load(from: straight.appendingPathComponent("checkpoint-6")).parameters
        let b = try DecoderModel.load(from: staged.appendingPathComponent("checkpoint-6")).parameters
        for (name, tensor) in a { #expect(tensor.toFloatArray() == b[name]!.toFloatArray(), "\(name) differs") }

        let policy = try fixturePolicy()
        try policy.attachAdapters(LoRAAdapters(configuration: try LoRAConfiguration(rank: 2), model: policy.config, seed: 1))
        #expect { try GRPOTrainer(configuration: configuration(lean: true), policy: policy, tokenizer: try fixtureTokenizer(),
                                  dataset: arithmeticDataset()) } throws: { "\($0)".contains("leanMemory") }
    }
}
