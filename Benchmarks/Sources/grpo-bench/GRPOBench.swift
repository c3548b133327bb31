import RLModel
import RLReasoning
import RLTensor
#if canImport(Glibc)
import Glibc
#endif

/// `grpo.step.mini`: one GRPO step on the "mini" Qwen2 (vocab 151936, hidden 512, 8 layers,
/// 8 heads, 2 KV heads, intermediate 1408, random f32 weights) as TRL does it with μ = 1:
/// 1 prompt of 64 tokens x 6 samples x 128 new tokens (temperature 0.7, top-p 0.95, no EOS),
/// reference and policy log-probs, k3-KL loss (beta 0.04, `grpo` reduction like the peer
/// script), backward, AdamW. Prints the median split over repetitions.
/// `grpo-bench [repetitions] [--rollout-dtype bfloat16]`: the second samples from a bf16 copy of the
/// policy's matrices made each step (the trainer's `rollout_dtype: bfloat16`; the copy is timed
/// as part of generation). `--matmul-precision bfloat16` scores and takes the gradient with bf16
/// products (the trainer's `matmul_precision: bfloat16`).
/// Peer, run right after in the same session: `Benchmarks/peer/peer_torch.py --suite grpo
/// [--grpo-rollout-dtype bfloat16] [--grpo-matmul-precision bf16]` (PyTorch + transformers).
@main
struct GRPOBench {
    static func main() throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let repetitions = arguments.first.flatMap(Int.init) ?? 3
        let rolloutBF16: Bool
        switch arguments.firstIndex(of: "--rollout-dtype").map({ arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : "" }) {
        case nil, "auto": rolloutBF16 = false
        case "bfloat16": rolloutBF16 = true
        case let other?:
            print("grpo-bench: --rollout-dtype takes auto or bfloat16, got '\(other)'")
            exit(2)
        }
        let precisionName = arguments.firstIndex(of: "--matmul-precision").map { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : "" }
        guard let precision = precisionName.map(MatmulPrecision.init(rawValue:)) ?? .float32 else {
            print("grpo-bench: --matmul-precision takes float32 or bfloat16, got '\(precisionName ?? "")'")
            exit(2)
        }
        let config = ModelConfig(vocabSize: 151_936, hiddenSize: 512, intermediateSize: 1408, numHiddenLayers: 8,
                                 numAttentionHeads: 8, numKeyValueHeads: 2, ropeTheta: 10_000)
        let policy = DecoderModel(randomWeights: config, seed: 0)
        let reference = policy.copy()
        let optimizer = AdamW()
        let (groupSize, promptLength, newTokens) = (6, 64, 128)
        var state: UInt64 = 2
        let prompt: [Int32] = (0..<promptLength).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1
            return Int32((state >> 33) % UInt64(config.vocabSize))
        }
        print("grpo.step.mini: \(groupSize) samples x \(newTokens) new tokens, prompt \(promptLength), \(Parallel_threads()) threads, \(repetitions) repetitions, "
              + "rollouts from \(rolloutBF16 ? "a bf16 copy of the matrices" : "the f32 policy"), \(precision) products in scoring and training")
        print("BLAS: \(CPUBackend.shared.blas)")
        var splits: [[String: Double]] = []
        for repetition in 0..<repetitions {
            var split: [String: Double] = [:]
            var t = monotonicSeconds()
            let sampling = rolloutBF16 ? policy.inferenceCopy(matrices: .bf16) : policy
            let generated = try Generator(model: sampling).generate(prompts: [prompt], options: GenerationOptions(
                maxNewTokens: newTokens, sampling: SamplingParameters(temperature: 0.7, topP: 0.95), samplesPerPrompt: groupSize,
                seed: UInt64(repetition)))
            split["generate"] = monotonicSeconds() - t
            let ids = Tensor(generated.flatMap { prompt + $0.tokens }, shape: [groupSize, promptLength + newTokens])
            let mask = Tensor([Float](repeating: 1, count: groupSize * newTokens), shape: [groupSize, newTokens])
            let rewards = (0..<groupSize).map { Float(($0 * 7919) % 13) / 13 }
            let advantages = try groupAdvantages(rewards: rewards, groupSize: groupSize)
            t = monotonicSeconds()
            let referenceLogProbs = try MatmulPrecision.withValue(precision) { try reference.tokenLogProbs(inputIDs: ids, lastTokens: newTokens) }
            split["ref_logprobs"] = monotonicSeconds() - t
            t = monotonicSeconds()
            var forwardEnd = 0.0
            let (_, gradients) = try MatmulPrecision.withValue(precision) {
                try valueAndGrad(at: policy.parameters) {
                    let logProbs = try policy.tokenLogProbs(inputIDs: ids, lastTokens: newTokens)
                    let loss = try grpoLoss(logProbs: logProbs, referenceLogProbs: referenceLogProbs, advantages: advantages, mask: mask,
                                            configuration: GRPOLossConfiguration(beta: 0.04, lossType: .grpo)).loss
                    forwardEnd = monotonicSeconds()
                    return loss
                }
            }
            split["policy_forward"] = forwardEnd - t
            split["backward"] = monotonicSeconds() - forwardEnd
            t = monotonicSeconds()
            optimizer.update(policy.parameters, gradients: gradients, learningRate: 1e-6)
            split["optimizer"] = monotonicSeconds() - t
            split["total"] = split.values.reduce(0, +)
            splits.append(split)
            print("  repetition \(repetition + 1): \(format(split["total"]!)) s (generation \(format(split["generate"]!)) s)")
        }
        let keys = ["generate", "ref_logprobs", "policy_forward", "backward", "optimizer", "total"]
        let measured = splits.count > 1 ? Array(splits.dropFirst()) : splits
        print("\n| part | median s |\n|---|---|")
        var medians: [String: Double] = [:]
        for key in keys {
            let values = measured.map { $0[key]! }.sorted()
            medians[key] = values[values.count / 2]
            print("| \(key) | \(format(medians[key]!)) |")
        }
        let total = medians["total"]!
        print("\nstep: \(format(total)) s (compare with peer_torch.py --suite grpo run in the same session)")
        print("generation share: \(format(medians["generate"]! / total * 100))%")
    }

    static func format(_ v: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 32)
        _ = withVaList([v]) { vsnprintf(&buffer, 32, "%.2f", $0) }
        return String(cString: buffer)
    }

    static func Parallel_threads() -> Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}
