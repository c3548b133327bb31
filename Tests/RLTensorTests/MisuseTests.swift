import RLTensor
import Testing

/// Programmer errors stop the process with a message that names the problem (exit tests run
/// each body in a child process).
@Suite("Misuse is caught")
struct MisuseTests {
    /// What the child process wrote to stderr (empty when the exit test did not run).
    func standardError(_ result: ExitTest.Result?) -> String {
        String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    }

    @Test("a matmul with mismatched inner dimensions")
    func mismatchedMatmul() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]).matmul(Tensor.zeros([4, 5]))
        }
        #expect(standardError(result).contains("inner dimensions differ"))
    }

    @Test("an embedding id outside the table")
    func embeddingOutOfRange() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([4, 2]).embedding(Tensor([1, 4] as [Int32], shape: [2]))
        }
        #expect(standardError(result).contains("embedding index 4 at position 1 is out of range 0..<4"))
    }

    @Test("a gather index outside the last axis")
    func gatherOutOfRange() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]).gather(lastAxis: Tensor([0, -1] as [Int32], shape: [2, 1]))
        }
        #expect(standardError(result).contains("gather index -1"))
    }

    @Test("a bf16 tensor in an f32-only op")
    func dtypeMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.ones([2]).cast(to: .bf16).exp()
        }
        #expect(standardError(result).contains("needs f32 tensors, got bf16"))
    }

    @Test("bf16 and f32 activations mixed in one op")
    func mixedActivationTypes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.ones([2]).cast(to: .bf16) + Tensor.ones([2])
        }
        #expect(standardError(result).contains("add: activations of different types [bf16, f32]"))
    }

    @Test("a gradient through bf16 activations")
    func bf16ActivationsWithGradient() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let weight = Tensor.ones([4])
            _ = valueAndGrad(at: [weight]) { Tensor.ones([2, 4]).cast(to: .bf16).rmsNorm(weight: weight, eps: 1e-6).cast(to: .f32).sum() }
        }
        #expect(standardError(result).contains("rmsNorm: bf16 activations are for inference"))
    }

    @Test("shapes that do not broadcast")
    func badBroadcast() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.ones([2, 3]) * Tensor.ones([4])
        }
        #expect(standardError(result).contains("do not broadcast"))
    }

    @Test("a token-log-prob target outside the vocabulary")
    func targetOutOfRange() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 5]).tokenLogProbs(targets: Tensor([0, 5] as [Int32], shape: [2]))
        }
        #expect(standardError(result).contains("target index 5"))
    }
}
