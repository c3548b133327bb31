#if canImport(Glibc)
import Glibc
#endif
@testable import RLReasoning
import RLTensor
import Testing
import RLTestSupport

/// Largest absolute difference, and whether it is within `tolerance`.
func close(_ a: [Float], _ b: [Float], _ tolerance: Float = 1e-5) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance }
}

/// Advantages, the completion mask and the GRPO loss on inputs small enough to check by hand
/// (`docs/openrs-reference.md` §2.4 to §2.7 and §2.10). Every expected number is
/// derived in the comment next to it.
@Suite("GRPO advantages and loss")
struct GRPOLossTests {
    // MARK: advantages

    @Test("equal rewards give advantages of exactly 0 with every scaling")
    func equalRewards() throws {
        for scaling in RewardScaling.allCases {
            #expect(try groupAdvantages(rewards: [0.7, 0.7, 0.7], groupSize: 3, scaling: scaling) == [0, 0, 0], "\(scaling)")
            // One flat group beside a varied one: the flat group stays exactly 0 even when the
            // batch standard deviation is not 0.
            let mixed = try groupAdvantages(rewards: [0.5, 0.5, 0.5, 0, 1, 2], groupSize: 3, scaling: scaling)
            #expect(Array(mixed[0..<3]) == [0, 0, 0], "\(scaling)")
        }
    }

    @Test("group scaling: (r − group mean) / (unbiased group std + 1e-4)")
    func groupScaling() throws {
        // Group 1: [1, 2, 3], mean 2, std √((1 + 0 + 1)/2) = 1 → [−1, 0, 1] / 1.0001
        // Group 2: [0, 0, 3], mean 1, std √((1 + 1 + 4)/2) = √3 = 1.7320508 → [−1, −1, 2] / 1.7321508
        let a = try groupAdvantages(rewards: [1, 2, 3, 0, 0, 3], groupSize: 3, scaling: .group)
        let expected: [Float] = [-0.99990001, 0, 0.99990001, -0.57731694, -0.57731694, 1.15463388]
        #expect(close(a, expected, 1e-6), "\(a)")
        // Default scaling is group.
        #expect(try groupAdvantages(rewards: [1, 2, 3, 0, 0, 3], groupSize: 3) == a)
    }

    @Test("batch scaling: group mean, standard deviation of the whole batch")
    func batchScaling() throws {
        // Batch [1, 2, 3, 0, 0, 3]: mean 1.5; squares .25 .25 2.25 2.25 2.25 2.25 = 9.5; /5 = 1.9;
        // std 1.3784049 → divide group-centred rewards [−1, 0, 1, −1, −1, 2] by 1.3785049.
        let a = try groupAdvantages(rewards: [1, 2, 3, 0, 0, 3], groupSize: 3, scaling: .batch)
        let s: Float = 1 / 1.3785049
        #expect(close(a, [-s, 0, s, -s, -s, 2 * s], 1e-6), "\(a)")
    }

    @Test("no scaling (Dr. GRPO): r − group mean")
    func noScaling() throws {
        let a = try groupAdvantages(rewards: [1, 2, 3, 0, 0, 3], groupSize: 3, scaling: RewardScaling.none)
        #expect(close(a, [-1, 0, 1, -1, -1, 2], 1e-6), "\(a)")
        // G = 2, r = [0, 1]: mean 0.5 → [−0.5, 0.5]; with group scaling std = √(0.5) = 0.7071068 → ±0.5/0.7072068 = ±0.7070068
        #expect(close(try groupAdvantages(rewards: [0, 1], groupSize: 2, scaling: RewardScaling.none), [-0.5, 0.5], 1e-7))
        #expect(close(try groupAdvantages(rewards: [0, 1], groupSize: 2), [-0.70700680, 0.70700680], 1e-6))
    }

    // MARK: completion mask

    @Test("the mask counts tokens through the first end token; truncated rows count all (or none)")
    func mask() throws {
        let end: Int32 = 9
        let rows: [[Int32]] = [[5, 9, 9, 9], [5, 6, 7, 8], [9, 1, 9, 2], [5, 6]]
        // row 0: EOS at 1 → 1 1 0 0; row 1: no EOS → all 4; row 2: EOS at 0 → 1 0 0 0; row 3: short, no EOS → 1 1 0 0
        #expect(completionMask(rows, length: 4, endTokenIDs: [end]) == [1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0])
        // mask_truncated_completions: rows without an end token get all zeros.
        #expect(completionMask(rows, length: 4, endTokenIDs: [end], maskTruncated: true) == [1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    }

    // MARK: loss reductions with ratio 1 (μ = 1, old = detached)

    // G = 2, C = 3, mask [[1, 1, 0], [1, 1, 1]], A = [1, −0.5], β = 0. With the ratio 1 the
    // per-token loss is −A: row 0 → −1, −1, (masked); row 1 → 0.5, 0.5, 0.5.
    // Masked sum = −2 + 1.5 = −0.5 over 5 counted tokens.
    static var logp: Tensor { Tensor([-1, -2, -50, -1.5, -1, -3] as [Float], shape: [2, 3]) }
    static var lossMask: Tensor { Tensor([1, 1, 0, 1, 1, 1] as [Float], shape: [2, 3]) }
    static let advantages: [Float] = [1, -0.5]

    func loss(_ type: GRPOLossType, maxCompletionLength: Int = 0, dapoTokens: Float? = nil) throws -> Float {
        var c = GRPOLossConfiguration(beta: 0, lossType: type, maxCompletionLength: maxCompletionLength)
        c.dapoTokenCount = dapoTokens
        return try grpoLoss(logProbs: Self.logp, referenceLogProbs: nil, advantages: Self.advantages, mask: Self.lossMask, configuration: c).loss.item()
    }

    @Test("bnpo: token mean over the micro-batch")
    func bnpo() throws {
        // −0.5 / 5 = −0.1
        #expect(abs(try loss(.bnpo) - -0.1) <= 1e-6)
    }

    @Test("grpo: per-sequence token mean, then mean over sequences")
    func grpo() throws {
        // row 0: −2/2 = −1; row 1: 1.5/3 = 0.5; mean −0.25
        #expect(abs(try loss(.grpo) - -0.25) <= 1e-6)
    }

    @Test("a completion with no counted token (overlong filtering) still counts as a sequence in grpo; empty masks give 0")
    func emptyRows() throws {
        func value(_ type: GRPOLossType, _ mask: [Float]) throws -> Float {
            try grpoLoss(logProbs: Self.logp, referenceLogProbs: nil, advantages: Self.advantages, mask: Tensor(mask, shape: [2, 3]),
                     configuration: GRPOLossConfiguration(beta: 0, lossType: type)).loss.item()
        }
        // Row 1 fully masked: grpo = (−2/2 + 0)/2 = −0.5 (TRL clamps the row's count at 1); bnpo = −2/2 = −1
        #expect(abs(try value(.grpo, [1, 1, 0, 0, 0, 0]) - -0.5) <= 1e-6)
        #expect(abs(try value(.bnpo, [1, 1, 0, 0, 0, 0]) - -1) <= 1e-6)
        // Nothing counted at all: 0 / max(0, 1) = 0, never NaN.
        for type in GRPOLossType.allCases { #expect(try value(type, [0, 0, 0, 0, 0, 0]) == 0, "\(type)") }
    }

    @Test("dr_grpo: sum / (sequences × max_completion_length)")
    func drGRPO() throws {
        // −0.5 / (2 × 4) = −0.0625
        #expect(abs(try loss(.drGRPO, maxCompletionLength: 4) - -0.0625) <= 1e-6)
        // Without a configured length the tensor's width, 3: −0.5 / 6
        #expect(abs(try loss(.drGRPO) - -0.5 / 6) <= 1e-6)
    }

    @Test("dapo: sum / token count of the generation batch")
    func dapo() throws {
        // Default: this micro-batch's 5 tokens → −0.1; a generation batch of 10 tokens → −0.05
        #expect(abs(try loss(.dapo) - -0.1) <= 1e-6)
        #expect(abs(try loss(.dapo, dapoTokens: 10) - -0.05) <= 1e-6)
    }

    @Test("with ratio 1 nothing is clipped and beta = 0 needs no reference")
    func ratioOneNoReference() throws {
        let out = try grpoLoss(logProbs: Self.logp, referenceLogProbs: nil, advantages: Self.advantages, mask: Self.lossMask,
                           configuration: GRPOLossConfiguration(beta: 0))
        #expect(out.clipRatio == 0)
        #expect(out.meanKL == 0)
    }

    @Test("gradient with ratio 1: −A·mask/N plus β(1 − π_ref/π)·mask/N")
    func gradientAtRatioOne() throws {
        // bnpo, N = 5. ref = logp + δ with δ = [[0, ln 2, 5], [−ln 2, 0, 0]] (the masked δ 5 must not leak).
        // ∂L/∂logp = m/N · (−A + β(1 − e^δ)), β = 0.1:
        // row 0: (−1 + 0)/5 = −0.2; (−1 + 0.1·(1 − 2))/5 = −0.22; masked 0
        // row 1: (0.5 + 0.1·(1 − 0.5))/5 = 0.11; 0.5/5 = 0.1; 0.1
        let ln2: Float = 0.6931472
        let logp = Self.logp
        let ref = Tensor(zip(logp.toFloatArray(), [0, ln2, 5, -ln2, 0, 0]).map { $0 + $1 }, shape: [2, 3])
        let c = GRPOLossConfiguration(beta: 0.1, lossType: .bnpo)
        let (_, grads) = try valueAndGrad(at: [logp]) {
            try grpoLoss(logProbs: logp, referenceLogProbs: ref, advantages: Self.advantages, mask: Self.lossMask, configuration: c).loss
        }
        #expect(close(grads[0].toFloatArray(), [-0.2, -0.22, 0, 0.11, 0.1, 0.1], 1e-6), "\(grads[0].toFloatArray())")
    }

    @Test("the trainer loads a reference model only when beta ≠ 0; with beta = 0 the logged KL is 0")
    func trainerReferenceOnlyWithBeta() throws {
        var c = smallConfiguration()
        c.gradientAccumulationSteps = 1
        c.beta = 0
        let withoutKL = try GRPOTrainer(configuration: c, policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(), dataset: arithmeticDataset())
        withoutKL.log = { _ in }
        #expect(withoutKL.reference == nil)
        #expect(try withoutKL.trainStep().kl == 0)
        c.beta = 0.04
        let withKL = try GRPOTrainer(configuration: c, policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(), dataset: arithmeticDataset())
        #expect(withKL.reference != nil)
    }

    // MARK: KL

    @Test("k3 KL: exp(δ) − δ − 1 per token; loss token-mean, logged KL per-sequence mean")
    func k3() throws {
        // δ = ref − logp. δ = 0 → 0; δ = ln 2 → 2 − ln 2 − 1 = 0.3068528; δ = −ln 2 → ½ + ln 2 − 1 = 0.1931472.
        // Row 0: δ = [0, ln 2, −ln 2], all counted: KLs sum 0.5, mean 0.1666667.
        // Row 1: δ = [ln 2, 3, 3], only the first counted: mean 0.3068528.
        let ln2: Float = 0.6931472
        let logp = Tensor([-1, -2, -0.5, -1.5, -1, -3] as [Float], shape: [2, 3])
        let deltas: [Float] = [0, ln2, -ln2, ln2, 3, 3]
        let ref = Tensor(zip(logp.toFloatArray(), deltas).map { $0 + $1 }, shape: [2, 3])
        let mask = Tensor([1, 1, 1, 1, 0, 0] as [Float], shape: [2, 3])
        let out = try grpoLoss(logProbs: logp, referenceLogProbs: ref, advantages: [0, 0], mask: mask,
                           configuration: GRPOLossConfiguration(beta: 0.04, lossType: .bnpo))
        // Logged kl: mean over sequences of the per-sequence means = (0.1666667 + 0.3068528)/2 = 0.2367597
        #expect(abs(out.meanKL - 0.2367597) <= 1e-6)
        // Loss with A = 0: β × token mean = 0.04 × (0.5 + 0.3068528)/4 = 0.0080685
        #expect(abs(out.loss.item() - 0.0080685) <= 1e-6)
        // The k3 estimator is never negative and 0 only where the policies agree.
        let kl = deltas.map { exp($0) - $0 - 1 }
        #expect(kl.allSatisfy { $0 >= 0 })
    }

    // MARK: clipping (μ > 1: old log-probs differ)

    // G = 2, C = 3, A = [1, −1], ratios r = exp(logp − old): row 0 [1.5, 0.5, 1.4], row 1 [1.5, 0.5, 1.1].
    // ε = 0.2, ε_high = 0.2: clip to [0.8, 1.2]; ℓ = −min(r·A, clip(r)·A)
    //   row 0 (A = 1):  1.5 → min(1.5, 1.2) = 1.2, ℓ −1.2 (clip binds); 0.5 → min(0.5, 0.8) = 0.5, ℓ −0.5;
    //                   1.4 → 1.2, ℓ −1.2 (binds)
    //   row 1 (A = −1): 1.5 → min(−1.5, −1.2) = −1.5, ℓ 1.5; 0.5 → min(−0.5, −0.8) = −0.8, ℓ 0.8 (binds);
    //                   1.1 → ℓ 1.1
    //   bnpo = (−1.2 − 0.5 − 1.2 + 1.5 + 0.8 + 1.1)/6 = 0.5/6 = 0.0833333; clipped 3 of 6 = 0.5
    // "Clipped" = the clip binds (r > 1 + ε_high with A > 0, or r < 1 − ε with A < 0), later TRL's
    // clip_ratio/region_mean. TRL 69ad852 counted r·A < clip(r)·A instead (here 2 of 6); both are 0 when μ = 1.
    static let ratios: [Float] = [1.5, 0.5, 1.4, 1.5, 0.5, 1.1]
    static var clipLogp: Tensor { Tensor([-1, -2, -0.5, -1.5, -1, -3] as [Float], shape: [2, 3]) }
    static var clipOld: Tensor { Tensor(zip(clipLogp.toFloatArray(), ratios).map { $0 - log($1) }, shape: [2, 3]) }

    func clipLoss(epsilon: Float, epsilonHigh: Float?, mask: [Float] = [1, 1, 1, 1, 1, 1]) throws -> GRPOLossOutput {
        try grpoLoss(logProbs: Self.clipLogp, oldLogProbs: Self.clipOld, referenceLogProbs: nil, advantages: [1, -1],
                 mask: Tensor(mask, shape: [2, 3]), configuration: GRPOLossConfiguration(beta: 0, epsilon: epsilon, epsilonHigh: epsilonHigh))
    }

    @Test("symmetric clipping with ε = 0.2 and the clip ratio metric")
    func symmetricClip() throws {
        let out = try clipLoss(epsilon: 0.2, epsilonHigh: nil)
        #expect(abs(out.loss.item() - 0.5 / 6) <= 1e-6)
        #expect(abs(out.clipRatio - 0.5) <= 1e-6)
        // A masked clipped token counts in neither: mask row 0 token 0 → (0.5 + 1.2)/5 = 0.34, clipped 2 of 5
        let masked = try clipLoss(epsilon: 0.2, epsilonHigh: nil, mask: [0, 1, 1, 1, 1, 1])
        #expect(abs(masked.loss.item() - 0.34) <= 1e-6)
        #expect(abs(masked.clipRatio - 0.4) <= 1e-6)
    }

    @Test("clip higher: ε_high widens only the upper bound")
    func clipHigher() throws {
        // ε = 0.2, ε_high = 0.45: clip to [0.8, 1.45]
        //   row 0: 1.5 → 1.45, ℓ −1.45 (binds); 0.5 → ℓ −0.5; 1.4 → ℓ −1.4 (no longer clipped)
        //   row 1: 1.5 → min(−1.5, −1.45) = −1.5, ℓ 1.5; 0.5 → ℓ 0.8 (binds, lower bound unchanged); 1.1 → ℓ 1.1
        //   bnpo = (−1.45 − 0.5 − 1.4 + 1.5 + 0.8 + 1.1)/6 = 0.05/6; clipped 2 of 6
        let out = try clipLoss(epsilon: 0.2, epsilonHigh: 0.45)
        #expect(abs(out.loss.item() - 0.05 / 6) <= 1e-6)
        #expect(abs(out.clipRatio - 2.0 / 6) <= 1e-6)
        // A wider lower bound alone: ε = 0.6, ε_high = 0.2 → [0.4, 1.2]: row 1 token 1 (0.5) is no longer
        // clipped: ℓ 0.5 instead of 0.8 → (0.5 − 0.3)/6 = 0.2/6; clipped 2 of 6 (row 0 tokens 0 and 2)
        let low = try clipLoss(epsilon: 0.6, epsilonHigh: 0.2)
        #expect(abs(low.loss.item() - 0.2 / 6) <= 1e-6)
        #expect(abs(low.clipRatio - 2.0 / 6) <= 1e-6)
    }

    @Test("where the clip binds the token's gradient is 0, elsewhere −A·r/N")
    func clippedGradient() throws {
        // bnpo, N = 6, ε = ε_high = 0.2: ∂ℓ/∂logp = −A·r when the unclipped term is taken, 0 when clipped.
        // row 0: 0, −0.5/6, 0; row 1: 1.5/6, 0, 1.1/6
        let c = GRPOLossConfiguration(beta: 0, epsilon: 0.2)
        let mask = Tensor([Float](repeating: 1, count: 6), shape: [2, 3])
        let logp = Self.clipLogp
        let (_, grads) = try valueAndGrad(at: [logp]) {
            try grpoLoss(logProbs: logp, oldLogProbs: Self.clipOld, referenceLogProbs: nil, advantages: [1, -1],
                     mask: mask, configuration: c).loss
        }
        #expect(close(grads[0].toFloatArray(), [0, -0.5 / 6, 0, 0.25, 0, 1.1 / 6], 1e-6), "\(grads[0].toFloatArray())")
    }

    // MARK: finite differences

    @Test("autograd gradients equal central finite differences", arguments: GRPOLossType.allCases)
    func finiteDifferences(_ lossType: GRPOLossType) throws {
        // Ratios away from the clip edges (0.8 and 1.28), a masked token, KL on.
        let base: [Float] = [-1.2, -0.7, -2.1, -0.4, -1.6, -0.9]
        let ratios: [Float] = [1.5, 0.9, 0.6, 1.1, 0.7, 1.4]
        let deltas: [Float] = [0.3, -0.2, 0.1, -0.4, 0.25, 0.5]
        let old = Tensor(zip(base, ratios).map { $0 - log($1) }, shape: [2, 3])
        let ref = Tensor(zip(base, deltas).map { $0 + $1 }, shape: [2, 3])
        let mask = Tensor([1, 1, 1, 1, 1, 0] as [Float], shape: [2, 3])
        let advantages: [Float] = [0.8, -1.2]
        let c = GRPOLossConfiguration(beta: 0.1, epsilon: 0.2, epsilonHigh: 0.28, lossType: lossType, maxCompletionLength: 5)
        func value(_ x: [Float]) throws -> Double {
            Double(try grpoLoss(logProbs: Tensor(x, shape: [2, 3]), oldLogProbs: old, referenceLogProbs: ref, advantages: advantages,
                            mask: mask, configuration: c).loss.item())
        }
        let logp = Tensor(base, shape: [2, 3])
        let (_, grads) = try valueAndGrad(at: [logp]) {
            try grpoLoss(logProbs: logp, oldLogProbs: old, referenceLogProbs: ref, advantages: advantages, mask: mask, configuration: c).loss
        }
        let analytic = grads[0].toFloatArray()
        let h: Float = 1e-3
        for i in base.indices {
            var up = base, down = base
            up[i] += h
            down[i] -= h
            let numeric = try (value(up) - value(down)) / Double(2 * h)
            #expect(abs(Double(analytic[i]) - numeric) <= 2e-3, "\(lossType) token \(i): autograd \(analytic[i]), numeric \(numeric)")
        }
        #expect(analytic[5] == 0, "a masked token gets no gradient")
    }
}
