import Foundation
import RLModel
@testable import RLReasoning
import RLTensor
import RLTestSupport
import Testing

/// The TRL 1.x options on inputs small enough to follow by hand: each expected value is computed
/// here from the option's formula with plain scalars, independently of the tensor code.
@Suite("GRPO variants (TRL 1.x options)")
struct GRPOVariantTests {
    // Ratios r per token: row 0 [1.5, 0.5, 1.4], row 1 [1.5, 0.5, 1.1]; A = [1, −1].
    static let ratios: [[Double]] = [[1.5, 0.5, 1.4], [1.5, 0.5, 1.1]]
    static let logp: [[Double]] = [[-1, -2, -0.5], [-1.5, -1, -3]]
    static let advantages: [Float] = [1, -1]
    static var logpTensor: Tensor { Tensor(logp.flatMap { $0.map(Float.init) }, shape: [2, 3]) }
    static var old: Tensor {
        Tensor(zip(logp.flatMap { $0 }, ratios.flatMap { $0 }).map { Float($0 - Foundation.log($1)) }, shape: [2, 3])
    }
    static var fullMask: Tensor { Tensor([Float](repeating: 1, count: 6), shape: [2, 3]) }

    func loss(_ configure: (inout GRPOLossConfiguration) -> Void, beta: Float = 0, reference: Tensor? = nil,
              entropies: Tensor? = nil) throws -> GRPOLossOutput {
        var c = GRPOLossConfiguration(beta: beta, epsilon: 0.2)
        configure(&c)
        return try grpoLoss(logProbs: Self.logpTensor, oldLogProbs: Self.old, referenceLogProbs: reference, advantages: Self.advantages,
                        mask: Self.fullMask, entropies: entropies, configuration: c)
    }

    @Test("GSPO: one ratio per completion, exp of the mean log-ratio, clipped like a token's")
    func sequenceLevel() throws {
        // grpo reduction: the per-token loss is the same for every token of a completion.
        let r = Self.ratios.map { row in Foundation.exp(row.map { Foundation.log($0) }.reduce(0, +) / 3) }
        let perSequence = zip(r, [1.0, -1.0]).map { ratio, a in -min(ratio * a, min(max(ratio, 0.8), 1.2) * a) }
        let expected = perSequence.reduce(0, +) / 2
        let out = try loss { $0.lossType = .grpo; $0.importanceSamplingLevel = .sequence }
        #expect(abs(Double(out.loss.item()) - expected) <= 1e-6, "\(out.loss.item()) vs \(expected)")
        // Neither sequence ratio (1.016, 0.938) leaves [0.8, 1.2]: no clipping at sequence level.
        #expect(out.clipRatioRegion == 0)
    }

    @Test("CISPO: −sg(min(r, ε_high))·A·log π, summed over the batch's tokens")
    func cispo() throws {
        let capped = Self.ratios.map { $0.map { min($0, 1.2) } }
        var sum = 0.0
        for row in 0..<2 { for t in 0..<3 { sum += -capped[row][t] * Double(Self.advantages[row]) * Self.logp[row][t] } }
        let logp = Self.logpTensor
        var c = GRPOLossConfiguration(beta: 0, epsilon: 0.2, epsilonHigh: 1.2, lossType: .cispo)
        c.dapoTokenCount = 6
        let (value, grads) = try valueAndGrad(at: [logp]) {
            try grpoLoss(logProbs: logp, oldLogProbs: Self.old, referenceLogProbs: nil, advantages: Self.advantages,
                     mask: Self.fullMask, configuration: c).loss
        }
        #expect(abs(Double(value.item()) - sum / 6) <= 1e-6)
        // The weight carries no gradient: ∂ℓ/∂log π = −min(r, ε_high)·A / 6.
        let expectedGradient = (0..<6).map { Float(-capped[$0 / 3][$0 % 3] * Double(Self.advantages[$0 / 3]) / 6) }
        #expect(close(grads[0].toFloatArray(), expectedGradient, 1e-6), "\(grads[0].toFloatArray())")
    }

    @Test("SAPO: −σ(τ(r − 1))·4/τ·A with τ by the advantage's sign, averaged like grpo")
    func sapo() throws {
        func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }
        let rows = (0..<2).map { row -> Double in
            let a = Double(Self.advantages[row]), tau = a > 0 ? 1.0 : 1.05
            return Self.ratios[row].map { -sigmoid(tau * ($0 - 1)) * 4 / tau * a }.reduce(0, +) / 3
        }
        let out = try loss { $0.lossType = .sapo }
        #expect(abs(Double(out.loss.item()) - (rows[0] + rows[1]) / 2) <= 1e-6)
    }

    @Test("delta caps the unclipped ratio: a negative advantage's loss is bounded; clip metrics")
    func delta() throws {
        // bnpo, [0.8, 1.2], δ = 1.3: row 0 ℓ = −1.2, −0.5, −1.2; row 1 ℓ = min(1.5, 1.3) → 1.3, 0.8, 1.1 → 0.3 / 6
        let capped = try loss { $0.delta = 1.3 }
        #expect(abs(capped.loss.item() - 0.05) <= 1e-6)
        // Without δ the 1.5 of row 1 counts in full: (−2.9 + 1.5 + 0.8 + 1.1) / 6
        let plain = try loss { _ in }
        #expect(abs(plain.loss.item() - 0.5 / 6) <= 1e-6)
        // Clip metrics: low = r < 0.8 with A < 0 (row 1: 0.5), high = r > 1.2 with A > 0 (row 0: 1.5, 1.4).
        #expect(abs(plain.clipRatioLow - 1.0 / 6) <= 1e-6 && abs(plain.clipRatioHigh - 2.0 / 6) <= 1e-6)
        #expect(abs(plain.clipRatioRegion - 3.0 / 6) <= 1e-6)
    }

    @Test("use_bias_correction_kl multiplies each token's k3 KL by its ratio")
    func biasCorrectedKL() throws {
        let deltas: [Double] = [0.3, -0.2, 0.1, -0.4, 0.25, 0.5]
        let reference = Tensor(zip(Self.logp.flatMap { $0 }, deltas).map { Float($0 + $1) }, shape: [2, 3])
        let kl = deltas.map { Foundation.exp($0) - $0 - 1 }
        let plain = try loss({ _ in }, beta: 0.1, reference: reference)
        let corrected = try loss({ $0.useBiasCorrectionKL = true }, beta: 0.1, reference: reference)
        // The difference is β/6 · Σ kl·(r − 1).
        let expected = zip(kl, Self.ratios.flatMap { $0 }).map { $0 * ($1 - 1) }.reduce(0, +) * 0.1 / 6
        #expect(abs(Double(corrected.loss.item() - plain.loss.item()) - expected) <= 1e-6)
    }

    @Test("top_entropy_quantile keeps counted tokens at or above the interpolated quantile")
    func entropyQuantileMask() throws {
        // Counted entropies 0.1 0.5 0.3 0.9 0.2 (the sixth token is masked); keep 0.4 → the 0.6 quantile:
        // sorted 0.1 0.2 0.3 0.5 0.9, position 0.6·4 = 2.4 → 0.3 + 0.4·(0.5 − 0.3) = 0.38 → keep 0.5 and 0.9.
        let entropies = Tensor([0.1, 0.5, 0.3, 0.9, 0.2, 0.7] as [Float], shape: [2, 3])
        let mask = Tensor([1, 1, 1, 1, 1, 0] as [Float], shape: [2, 3])
        #expect(highEntropyMask(entropies, mask: mask, keep: 0.4).toFloatArray() == [0, 1, 0, 1, 0, 0])
        #expect(highEntropyMask(entropies, mask: mask, keep: 1).toFloatArray() == [1, 1, 1, 1, 1, 0])
        #expect(highEntropyMask(entropies, mask: mask, keep: 0).toFloatArray() == [0, 0, 0, 1, 0, 0])
        // In the loss the masked-out tokens add nothing, and the logged mean entropy covers all counted tokens.
        let out = try grpoLoss(logProbs: Self.logpTensor, oldLogProbs: Self.old, referenceLogProbs: nil, advantages: Self.advantages,
                           mask: mask, entropies: entropies,
                           configuration: { var c = GRPOLossConfiguration(beta: 0, epsilon: 0.2); c.topEntropyQuantile = 0.4; return c }())
        // Kept: row 0 token 1 (r 0.5, A 1: ℓ −0.5) and row 1 token 0 (r 1.5, A −1: ℓ 1.5); bnpo over 5 counted tokens.
        #expect(abs(out.loss.item() - 1.0 / 5) <= 1e-6)
        #expect(abs((out.meanEntropy ?? 0) - 2.0 / 5) <= 1e-6)
        #expect(abs(out.entropyKeptFraction - 2.0 / 5) <= 1e-6)
    }

    @Test("the fused row entropy equals −Σ p log p of the softmax, at any temperature")
    func rowEntropy() throws {
        let logits: [Float] = [2, -1, 0.5, 3, -2, 0, 0, 0, -.infinity, 1, 1, 4]
        let tensor = Tensor(logits, shape: [3, 4])
        for temperature: Float in [1, 0.7] {
            let entropy = tensor.tokenLogProbsAndEntropy(targets: Tensor([0, 1, 3] as [Int32], shape: [3]), temperature: temperature).entropy
            let expected = (0..<3).map { row -> Float in
                let z = logits[(row * 4)..<(row * 4 + 4)].map { Double($0) / Double(temperature) }
                let m = z.max()!, total = z.map { Foundation.exp($0 - m) }.reduce(0, +)
                return Float(-z.map { Foundation.exp($0 - m) / total }.filter { $0 > 0 }.map { $0 * Foundation.log($0) }.reduce(0, +))
            }
            #expect(close(entropy.toFloatArray(), expected, 1e-5), "\(entropy.toFloatArray()) vs \(expected)")
        }
    }

    @Test("autograd equals central finite differences for every variant", arguments: [
        "gspo-grpo", "gspo-dapo", "delta", "bias-kl", "top-entropy", "cispo-cap", "sapo",
    ])
    func finiteDifferences(_ variant: String) throws {
        let base: [Float] = [-1.2, -0.7, -2.1, -0.4, -1.6, -0.9]
        let ratios: [Float] = [1.5, 0.9, 0.6, 1.1, 0.7, 1.4]
        let old = Tensor(zip(base, ratios).map { $0 - Foundation.log($1) }, shape: [2, 3])
        let reference = Tensor(zip(base, [0.3, -0.2, 0.1, -0.4, 0.25, 0.5] as [Float]).map { $0 + $1 }, shape: [2, 3])
        let mask = Tensor([1, 1, 1, 1, 1, 0] as [Float], shape: [2, 3])
        let entropies = Tensor([0.1, 0.5, 0.3, 0.9, 0.2, 0.7] as [Float], shape: [2, 3])
        var c = GRPOLossConfiguration(beta: 0.1, epsilon: 0.2, epsilonHigh: 0.28, lossType: .bnpo, maxCompletionLength: 5)
        switch variant {
        case "gspo-grpo": c.importanceSamplingLevel = .sequence; c.lossType = .grpo
        case "gspo-dapo": c.importanceSamplingLevel = .sequence; c.lossType = .dapo
        case "delta": c.delta = 1.3
        case "bias-kl": c.useBiasCorrectionKL = true
        case "top-entropy": c.topEntropyQuantile = 0.5
        case "cispo-cap": c.lossType = .cispo; c.epsilonHigh = 5  // no ratio reaches the cap: the weight is constant
        default: c.lossType = .sapo
        }
        let advantages: [Float] = [0.8, -1.2]
        func value(_ x: [Float]) throws -> Double {
            Double(try grpoLoss(logProbs: Tensor(x, shape: [2, 3]), oldLogProbs: old, referenceLogProbs: reference, advantages: advantages,
                            mask: mask, entropies: entropies, configuration: c).loss.item())
        }
        let logp = Tensor(base, shape: [2, 3])
        let (_, grads) = try valueAndGrad(at: [logp]) {
            try grpoLoss(logProbs: logp, oldLogProbs: old, referenceLogProbs: reference, advantages: advantages, mask: mask,
                     entropies: entropies, configuration: c).loss
        }
        let analytic = grads[0].toFloatArray()
        let h: Float = 1e-3
        for i in base.indices where variant != "cispo-cap" {
            var up = base, down = base
            up[i] += h
            down[i] -= h
            let numeric = try (value(up) - value(down)) / Double(2 * h)
            #expect(abs(Double(analytic[i]) - numeric) <= 2e-3, "\(variant) token \(i): autograd \(analytic[i]), numeric \(numeric)")
        }
        if variant == "cispo-cap" {
            // CISPO's gradient is by definition not the derivative of its value (the weight is stopped):
            // ∂ℓ/∂log π = −r·A / N with r at its value, here r < 5 everywhere.
            let deltas: [Float] = [0.3, -0.2, 0.1, -0.4, 0.25, 0.5]
            let expected: [Float] = (0..<6).map { i -> Float in
                if i == 5 { return 0 }
                let policyTerm: Float = -ratios[i] * advantages[i / 3] / 5
                let klTerm: Float = 0.1 * (1 - Foundation.exp(deltas[i])) / 5
                return policyTerm + klTerm
            }
            #expect(close(analytic, expected, 1e-5), "\(analytic) vs \(expected)")
        }
        #expect(analytic[5] == 0, "a masked token gets no gradient")
    }

    @Test("overlong: 0 up to max − buffer, then a linear fall to −factor at the limit")
    func overlongReward() throws {
        let reward = OverlongReward(maxLength: 20, bufferLength: 5, penaltyFactor: 2)
        let scores = [10, 15, 16, 18, 20, 25].map { reward.score(completion: "", tokenCount: $0, row: [:])! }
        #expect(close(scores, [0, 0, -0.4, -1.2, -2, -2], 1e-6), "\(scores)")
        var c = GRPOConfiguration()
        c.rewardFuncs = [.overlong]
        c.rewardWeights = nil
        #expect(throws: TrainingError.self) { try c.validate() }  // overlong needs overlong_buffer_len ≥ 1
        c.overlongBufferLength = 64
        #expect(throws: Never.self) { try c.validate() }
    }

    @Test("normalize_then_sum: each reward normalised per group, weighted sum, batch normalisation")
    func normalizeThenSum() throws {
        let scores: [[Float?]] = [[1, 0, 1, 1], [0.5, nil, 0, 1]]
        let weights: [Float] = [1, 2]
        // Per group and function: (x − mean) / (unbiased std + 1e-4); a group with one score gives 0.
        let s = Foundation.sqrt(0.5) + 1e-4
        let summed: [Double] = [0.5 / s, -0.5 / s, 2 * (-0.5 / s), 2 * (0.5 / s)]
        let mean = summed.reduce(0, +) / 4
        let std = Foundation.sqrt(summed.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 3) + 1e-4
        let (advantages, rewards) = try normalizedThenSummedAdvantages(scores: scores, weights: weights, groupSize: 2)
        #expect(close(rewards, summed.map(Float.init), 1e-5))
        #expect(close(advantages, summed.map { Float(($0 - mean) / std) }, 1e-5), "\(advantages)")
    }

    @Test("metrics are written with TRL's names and read back; earlier files still read")
    func metricsNames() throws {
        var m = StepMetrics(step: 3, epoch: 0.5, loss: 0.1, gradNorm: 1, learningRate: 1e-6, reward: 0.4, rewardStd: 0.2,
                            rewards: ["accuracy": 0.5], kl: 0.01, clipRatio: 0.02, completionLength: 12, truncatedFraction: 0.25,
                            generationSeconds: 1, trainingSeconds: 2, tokensPerSecond: 30, skipped: false, unparseableGolds: 0)
        m.rewardStds = ["accuracy": 0.3]
        m.clipRatioLow = 0.1
        m.entropy = 1.5
        m.numTokens = 1234
        let data = try MetricsLog.encoder.encode(m)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["rewards/accuracy/mean", "rewards/accuracy/std", "clip_ratio/low_mean", "clip_ratio/high_mean",
                    "clip_ratio/region_mean", "entropy", "frac_reward_zero_std", "completions/mean_length", "completions/min_length",
                    "completions/max_length", "completions/clipped_ratio", "completions/mean_terminated_length", "num_tokens"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(try JSONDecoder().decode(StepMetrics.self, from: data) == m)
        // A line of an earlier version: nested rewards, truncated_fraction.
        let legacy = #"{"clip_ratio":0,"completion_length":5,"epoch":0.1,"generation_seconds":1,"grad_norm":1,"kl":0,"learning_rate":1e-06,"loss":0.2,"reward":1,"reward_std":0.5,"rewards":{"format":1},"skipped":false,"step":1,"tokens_per_second":9,"training_seconds":2,"truncated_fraction":0.5,"unparseable_golds":0}"#
        let old = try JSONDecoder().decode(StepMetrics.self, from: Data(legacy.utf8))
        #expect(old.rewards == ["format": 1] && old.truncatedFraction == 0.5 && old.entropy == 0)
    }

    @Test("steps_per_generation: one generation batch serves several steps, later ones with old log-probs")
    func stepsPerGeneration() throws {
        var c = smallConfiguration()
        c.gradientAccumulationSteps = 1
        c.stepsPerGeneration = 2
        c.maxSteps = 3
        c.saveSteps = 100
        c.rewardWeights = nil
        let trainer = try fixtureTrainer(c)
        let steps = try (0..<3).map { _ in try trainer.trainStep() }
        #expect(steps[0].generatedTokens > 0 && steps[1].generatedTokens == 0 && steps[2].generatedTokens > 0)
        #expect(trainer.buffer.count == 2 && trainer.buffer.allSatisfy { $0.oldLogProbs != nil })
        // The second step trains on the other half of the batch: other prompts than the first.
        #expect(Set(steps.map(\.numTokens)).count == 2, "num_tokens grows only when a batch is generated")

        var bad = c
        bad.gradientAccumulationSteps = 2
        bad.stepsPerGeneration = 3
        #expect(throws: TrainingError.self) { try bad.validate() }
    }

    @Test("a run resumed inside a generation batch generates that batch again and says so")
    func resumeInsideGenerationBatch() throws {
        var c = smallConfiguration()
        c.numIterations = 2
        c.maxSteps = 3
        c.saveSteps = 1
        c.rewardWeights = nil
        let folder = temporaryFolder("rl-spg")
        defer { try? FileManager.default.removeItem(at: folder) }
        try fixtureTrainer(c).train(output: folder, stopAfterStep: 1)
        let resumed = try fixtureTrainer(c)
        var lines: [String] = []
        resumed.log = { lines.append($0) }
        try resumed.train(output: folder, resume: true)
        #expect(resumed.step == 3)
        #expect(lines.contains { $0.contains("inside a generation batch") }, "\(lines)")
        #expect(MetricsLog(url: folder.appendingPathComponent("metrics.jsonl")).read().allSatisfy { $0.loss.isFinite })
    }

    /// A quiet trainer on the fixture model, the arithmetic prompts and `reward`.
    func fixtureTrainer(_ c: GRPOConfiguration, reward: any RewardFunction = CharacterSumReward()) throws -> GRPOTrainer {
        let trainer = try GRPOTrainer(configuration: c, policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(),
                                      dataset: arithmeticDataset(), rewards: [reward])
        trainer.log = { _ in }
        return trainer
    }

    /// A fresh temporary folder name.
    func temporaryFolder(_ prefix: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UInt64.random(in: 0...UInt64.max))")
    }

    /// Rewards that differ within a group only for even-numbered problems.
    struct HalfInformative: PerCompletionReward {
        let name = "half"
        func score(completion: String, tokenCount: Int, row: [String: String]) -> Float? {
            let n = Int(row["answer"] ?? "0") ?? 0
            return n % 2 == 0 ? Float(completion.unicodeScalars.reduce(0) { $0 + Int($1.value) } % 5) : 1
        }
    }

    @Test("replay: stored informative groups stand in for all-equal ones, and a resumed run replays the same")
    func replayBuffer() throws {
        var c = smallConfiguration()
        c.maxSteps = 4
        c.saveSteps = 2
        c.replayBufferSize = 8
        c.rewardWeights = nil
        c.beta = 0
        func trainer() throws -> GRPOTrainer { try fixtureTrainer(c, reward: HalfInformative()) }
        let folder = temporaryFolder("rl-replay")
        defer { try? FileManager.default.removeItem(at: folder) }
        let straight = try trainer()
        try straight.train(output: folder.appendingPathComponent("straight"))
        let straightMetrics = MetricsLog(url: folder.appendingPathComponent("straight/metrics.jsonl")).read()
        #expect(straightMetrics.reduce(0) { $0 + $1.replayedGroups } > 0, "no group was replayed")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("straight/checkpoint-2/replay_buffer.json").path))

        let interrupted = try trainer()
        try interrupted.train(output: folder.appendingPathComponent("resumed"), stopAfterStep: 2)
        let resumed = try trainer()
        try resumed.train(output: folder.appendingPathComponent("resumed"), resume: true)
        let resumedMetrics = MetricsLog(url: folder.appendingPathComponent("resumed/metrics.jsonl")).read()
        #expect(resumedMetrics.map(\.replayedGroups) == straightMetrics.map(\.replayedGroups))
        #expect(resumedMetrics.map(\.loss) == straightMetrics.map(\.loss))
    }

    @Test("dynamic sampling trains only on groups whose rewards differ, and says how many it dropped")
    func dynamicSampling() throws {
        var c = smallConfiguration()
        c.maxSteps = 2
        c.dynamicSampling = true
        c.maxDynamicSamplingRounds = 4
        c.rewardWeights = nil
        c.beta = 0
        let trainer = try fixtureTrainer(c, reward: HalfInformative())
        let first = try trainer.trainStep()
        #expect(first.droppedGroups > 0, "odd problems give constant groups")
        #expect(first.fracRewardZeroStd == 0, "every group trained on is informative")
        #expect(trainer.buffer.allSatisfy { $0.groupStandardDeviations.allSatisfy { $0 > 0 } })
        #expect(trainer.buffer.allSatisfy { $0.prompts.count == c.promptsPerMicroStep })

        var plain = c
        plain.dynamicSampling = false
        let baseline = try fixtureTrainer(plain, reward: HalfInformative())
        #expect(try baseline.trainStep().fracRewardZeroStd > 0)
    }
}
