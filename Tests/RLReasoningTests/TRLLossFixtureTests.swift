import Foundation
import RLModel
import RLReasoning
import RLTensor
import RLTestSupport
import Testing

/// Parity with TRL 1.9.0's own `GRPOTrainer._compute_loss` for every loss variant
/// (`Tests/Fixtures/grpo-trl`, made by `tools/fixtures/make_trl_loss_fixture.py` on the qwen2-tiny
/// policy): per-token log-probs and entropies, the loss, TRL's clip and entropy metrics, and the
/// gradients.
@Suite("TRL 1.9 loss parity")
struct TRLLossFixtureTests {
    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var loss_type: String
        var importance_sampling_level: String
        var beta: Float
        var epsilon: Float
        var epsilon_high: Float
        var delta: Float?
        var top_entropy_quantile: Float
        var sapo_temperature_pos: Float
        var sapo_temperature_neg: Float
        var use_bias_correction_kl: Bool
        var gradient_accumulation_steps: Int
        var max_completion_length: Int
        var num_items_in_batch: Int
        var temperature: Float
        var testDescription: String { name }

        /// The same settings as our loss configuration.
        var configuration: GRPOLossConfiguration {
            var c = GRPOLossConfiguration(beta: beta, epsilon: epsilon, epsilonHigh: epsilon_high,
                                          lossType: GRPOLossType(rawValue: loss_type)!, maxCompletionLength: max_completion_length)
            c.importanceSamplingLevel = ImportanceSamplingLevel(rawValue: importance_sampling_level)!
            c.delta = delta
            c.topEntropyQuantile = top_entropy_quantile
            c.sapoTemperaturePositive = sapo_temperature_pos
            c.sapoTemperatureNegative = sapo_temperature_neg
            c.useBiasCorrectionKL = use_bias_correction_kl
            c.dapoTokenCount = Float(num_items_in_batch)
            return c
        }
    }

    static let cases: [Case] = {
        guard let data = FileManager.default.contents(atPath: Fixtures.url("grpo-trl/cases.json").path),
              let cases = try? JSONDecoder().decode([Case].self, from: data) else { return [] }
        return cases
    }()

    @Test("the fixture lists the twelve cases") func fixtureIsThere() {
        #expect(Self.cases.count == 12, "Tests/Fixtures/grpo-trl/cases.json is missing or unreadable")
    }

    @Test("log-probs, entropies, loss, metrics and gradients match TRL", arguments: cases)
    func matchesTRL(_ item: Case) throws {
        let inputs = try CheckpointReader(at: Fixtures.url("grpo-trl/inputs.safetensors"))
        let expected = try CheckpointReader(at: Fixtures.url("grpo-trl/\(item.name).safetensors"))
        func floats(_ reader: CheckpointReader, _ name: String) throws -> [Float] { try reader.tensor(named: name).floats(name: name) }
        let policy = try DecoderModel.load(from: Fixtures.url("qwen2-tiny"))
        let idsTensor = try inputs.tensor(named: "input_ids")
        let (rows, width) = (idsTensor.shape[0], idsTensor.shape[1])
        let ids = Tensor(try idsTensor.int64s().map { Int32($0) }, shape: idsTensor.shape)
        let promptLength = Int(try inputs.tensor(named: "prompt_length").int64s()[0])
        let completionLength = width - promptLength
        let mask = try floats(inputs, "completion_mask")
        // TRL's attention mask: the prompt, then the completion mask (keys after the first EOS are masked).
        var attention: [Int32] = []
        for r in 0..<rows {
            attention += [Int32](repeating: 1, count: promptLength)
            attention += mask[(r * completionLength)..<((r + 1) * completionLength)].map { Int32($0) }
        }
        let attentionMask = Tensor(attention, shape: [rows, width])
        let maskTensor = Tensor(mask, shape: [rows, completionLength])
        let old = Tensor(try floats(inputs, "old_logps"), shape: [rows, completionLength])
        let reference = Tensor(try floats(inputs, "ref_logps"), shape: [rows, completionLength])
        let advantages = try floats(inputs, "advantages")

        var output: GRPOLossOutput?
        var scoredLogProbs: [Float] = [], scoredEntropies: [Float] = []
        let (loss, grads) = try valueAndGrad(at: policy.parameters) {
            let scored = try policy.tokenLogProbsAndEntropies(inputIDs: ids, attentionMask: attentionMask, lastTokens: completionLength,
                                                          temperature: item.temperature, recomputeLayers: false, maxLogitBytes: 1 << 30)
            scoredLogProbs = scored.logProbs.toFloatArray()
            scoredEntropies = scored.entropies.toFloatArray()
            let result = try grpoLoss(logProbs: scored.logProbs, oldLogProbs: old, referenceLogProbs: reference, advantages: advantages,
                                  mask: maskTensor, entropies: scored.entropies, configuration: item.configuration)
            output = result
            // The trainer's accumulation scaling (TRL divides these loss types by the accumulation steps).
            let dividedByAccumulation = !["dapo", "cispo"].contains(item.loss_type)
            return dividedByAccumulation ? result.loss * (1 / Float(item.gradient_accumulation_steps)) : result.loss
        }
        let counted = mask.indices.filter { mask[$0] != 0 }
        let logProbError = counted.map { abs(scoredLogProbs[$0] - (try! floats(expected, "logps"))[$0]) }.max() ?? 0
        let expectedEntropies = try floats(expected, "entropies")
        let entropyError = counted.map { abs(scoredEntropies[$0] - expectedEntropies[$0]) }.max() ?? 0
        #expect(logProbError <= 1e-4, "log-probs differ by \(logProbError)")
        #expect(entropyError <= 1e-4, "entropies differ by \(entropyError)")

        let expectedLoss = try floats(expected, "loss")[0]
        #expect(abs(loss.item() - expectedLoss) <= 1e-5 + 1e-4 * abs(expectedLoss), "loss \(loss.item()) vs TRL \(expectedLoss)")

        let metrics = Set(expected.tensorNames.filter { $0.hasPrefix("metric.") })
        let output_ = try #require(output)
        for (key, value) in [("clip_ratio/low_mean", output_.clipRatioLow), ("clip_ratio/high_mean", output_.clipRatioHigh),
                             ("clip_ratio/region_mean", output_.clipRatioRegion), ("entropy", output_.meanEntropy ?? .nan)]
            where metrics.contains("metric." + key) {
            let reference = try floats(expected, "metric." + key)[0]
            #expect(abs(value - reference) <= 1e-5, "\(key): \(value) vs TRL \(reference)")
        }

        var worstGradient = 0.0
        for name in expected.tensorNames {
            let reference = try floats(expected, name)
            let ours: [Float]
            if name.hasPrefix("grad.") {
                ours = try #require(grads[String(name.dropFirst(5))], "no gradient for \(name)").toFloatArray()
            } else if name.hasPrefix("gradsum.") {
                // gradsum.rows.<p> / gradsum.cols.<p>: sums over the second / first axis.
                let parts = name.split(separator: ".", maxSplits: 2)
                let grad = try #require(grads[String(parts[2])], "no gradient for \(parts[2])")
                ours = grad.sum(axis: parts[1] == "rows" ? 1 : 0).toFloatArray()
            } else {
                continue
            }
            var difference = 0.0, norm = 0.0
            for (a, b) in zip(ours, reference) { difference += Double(a - b) * Double(a - b); norm += Double(b) * Double(b) }
            let relative = (difference / max(norm, 1e-30)).squareRoot()
            // The column sums of the LM head's gradient vanish analytically (softmax rows sum to 1):
            // there only the absolute difference means something.
            #expect(relative <= 1e-3 || difference.squareRoot() <= 1e-6, "\(name): relative error \(relative)")
            if !name.hasPrefix("gradsum.cols.lm_head") { worstGradient = max(worstGradient, relative) }
        }
        print("grpo-trl \(item.name): log-probs Δ \(logProbError), entropies Δ \(entropyError), loss Δ \(abs(loss.item() - expectedLoss)), "
              + "worst gradient relative error \(worstGradient)")
    }
}
