import FoundationEssentials
import RLModel
import RLReasoning
import RLTensor
import Testing
import RLTestSupport

/// Parity with the GRPO loss TRL computes (`Tests/Fixtures/grpo/expected.safetensors`, made by
/// torch autograd on the qwen2-tiny policy and the qwen2-tiny-bf16 reference).
@Suite("GRPO fixture parity")
struct GRPOFixtureTests {
    let expected: CheckpointReader
    let policy: DecoderModel
    let reference: DecoderModel
    let ids: Tensor
    let promptLength: Int
    let completionLength: Int
    let mask: [Float]

    init() throws {
        expected = try CheckpointReader(at: Fixtures.url("grpo/expected.safetensors"))
        policy = try DecoderModel.load(from: Fixtures.url("qwen2-tiny"))
        reference = try DecoderModel.load(from: Fixtures.url("qwen2-tiny-bf16"))
        let idsTensor = try expected.tensor(named: "input_ids")
        ids = Tensor(try idsTensor.int64s().map { Int32($0) }, shape: idsTensor.shape)
        promptLength = Int(try expected.tensor(named: "prompt_length").int64s()[0])
        completionLength = idsTensor.shape[1] - promptLength
        mask = try expected.tensor(named: "completion_mask").floats()
    }

    func floats(_ name: String) throws -> [Float] { try expected.tensor(named: name).floats(name: name) }

    func maxAbs(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }

    @Test func advantagesMatch() throws {
        let advantages = try groupAdvantages(rewards: try floats("rewards"), groupSize: 4)
        #expect(maxAbs(advantages, try floats("advantages")) <= 1e-5)
    }

    @Test func completionMaskMatches() throws {
        let g = ids.shape[0], all = ids.toInt32Array()
        let completions = (0..<g).map { Array(all[($0 * ids.shape[1] + promptLength)..<(($0 + 1) * ids.shape[1])]) }
        #expect(completionMask(completions, length: completionLength, endTokenIDs: [2]) == mask)
    }

    @Test func logProbsAndKLMatch() throws {
        let logps = try policy.tokenLogProbs(inputIDs: ids, lastTokens: completionLength)
        let refLogps = try reference.tokenLogProbs(inputIDs: ids, lastTokens: completionLength)
        #expect(maxAbs(logps.toFloatArray(), try floats("logps")) <= 1e-4)
        #expect(maxAbs(refLogps.toFloatArray(), try floats("ref_logps")) <= 1e-4)
        let t07 = try policy.tokenLogProbs(inputIDs: ids, lastTokens: completionLength, temperature: 0.7)
        #expect(maxAbs(t07.toFloatArray(), try floats("logps_t07")) <= 1e-4)
        let delta = refLogps - logps
        let kl = delta.exp() - delta - 1
        #expect(maxAbs(kl.toFloatArray(), try floats("kl")) <= 1e-5)
    }

    @Test("loss values and every bnpo gradient", arguments: [GRPOLossType.bnpo, .grpo, .drGRPO])
    func lossAndGradients(_ lossType: GRPOLossType) throws {
        let refLogps = try reference.tokenLogProbs(inputIDs: ids, lastTokens: completionLength)
        let advantages = try floats("advantages")
        let maskTensor = Tensor(mask, shape: [ids.shape[0], completionLength])
        let configuration = GRPOLossConfiguration(beta: 0.04, epsilon: 0.2, lossType: lossType, maxCompletionLength: completionLength)
        let (loss, grads) = try valueAndGrad(at: policy.parameters) {
            let logps = try policy.tokenLogProbs(inputIDs: ids, lastTokens: completionLength)
            return try grpoLoss(logProbs: logps, referenceLogProbs: refLogps, advantages: advantages, mask: maskTensor,
                            configuration: configuration).loss
        }
        let expectedLoss = try floats("loss.\(lossType.rawValue)")[0]
        #expect(abs(loss.item() - expectedLoss) <= 1e-5 + 1e-4 * abs(expectedLoss))
        guard lossType == .bnpo else { return }
        for (name, grad) in grads {
            let reference = try floats("grad.bnpo." + name)
            var diff = 0.0, norm = 0.0
            for (a, b) in zip(grad.toFloatArray(), reference) { diff += Double(a - b) * Double(a - b); norm += Double(b) * Double(b) }
            let relative = (diff / max(norm, 1e-30)).squareRoot()
            #expect(relative <= 1e-3, "\(name): relative error \(relative)")
        }
    }
}
