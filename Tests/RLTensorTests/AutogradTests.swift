import RLTensor
import Testing

/// The tape's scope, detaching, accumulation and activation checkpointing.
@Suite("Autograd")
struct AutogradTests {
    @Test("recording happens only inside valueAndGrad, and not inside withoutGradients")
    func recordingScope() {
        #expect(!isRecordingGradients)
        let x = sample([3], seed: 1)
        let outside = x * 2  // computed before the tape exists: a constant to it
        let (value, grads) = valueAndGrad(at: [x]) { () -> Tensor in
            #expect(isRecordingGradients)
            let cut = withoutGradients { () -> Tensor in
                #expect(!isRecordingGradients)
                return x * 5
            }
            return (outside + cut + x * 3).sum()
        }
        #expect(!isRecordingGradients)
        expectClose(grads[0], [3, 3, 3], shape: [3], "only the recorded x * 3 contributes")
        expectClose(value, [x.doubles.reduce(0) { $0 + 10 * $1 }], shape: [], atol: 1e-5, "value")
    }

    @Test("detached cuts the graph; unused parameters get zeros; reuse accumulates")
    func detachAndAccumulate() {
        let x = sample([2, 2], seed: 2), unused = sample([3], seed: 3)
        let (_, grads) = valueAndGrad(at: [x, unused]) { (x * x.detached() + x * x + x).sum() }
        // d/dx [x c + x^2 + x] with c = x held fixed: c + 2x + 1 = 3x + 1.
        expectClose(grads[0], x.doubles.map { 3 * $0 + 1 }, shape: [2, 2], atol: 1e-6, "accumulated")
        expectClose(grads[1], [0, 0, 0], shape: [3], "unused parameter")
        // A non-scalar result is differentiated as the sum of its elements.
        let (value, sumGrads) = valueAndGrad(at: [x]) { x.square() }
        #expect(value.shape == [2, 2])
        expectClose(sumGrads[0], x.doubles.map { 2 * $0 }, shape: [2, 2], atol: 1e-6, "non-scalar result")
        // Named parameters come back under their names.
        let named = valueAndGrad(at: ["x": x, "u": unused]) { (x * 4).sum() + unused.sum() * 0 }
        expectClose(named.gradients["x"]!, [4, 4, 4, 4], shape: [2, 2], "named x")
        expectClose(named.gradients["u"]!, [0, 0, 0], shape: [3], "named u")
    }

    /// A small decoder-like block that captures its weights.
    struct Block {
        let weight = sample([4, 4], seed: 10), bias = sample([4], seed: 11), norm = sample([4], seed: 12, low: 0.5, high: 1.5)
        func callAsFunction(_ x: Tensor) -> Tensor {
            let h = x.rmsNorm(weight: norm, eps: 1e-6).linear(weight, bias: bias).silu()
            return x + h.softmax() * h
        }
        var parameters: [Tensor] { [weight, bias, norm] }
    }

    @Test("checkpoint gives the same gradients as the plain block, captured parameters included")
    func checkpointMatchesPlain() {
        let block = Block(), x = sample([3, 4], seed: 13), head = sample([4, 2], seed: 14)
        let parameters = [x, head] + block.parameters
        let plain = valueAndGrad(at: parameters) { block(block(x)).matmul(head).square().sum() }
        let checkpointed = valueAndGrad(at: parameters) {
            checkpoint(checkpoint(x) { block($0) }) { block($0) }.matmul(head).square().sum()
        }
        #expect(plain.value.item() == checkpointed.value.item())
        for (a, b) in zip(plain.gradients, checkpointed.gradients) {
            expectClose(b.toFloatArray(), a.toFloatArray(), atol: 1e-6, rtol: 1e-6, "checkpointed gradient")
        }
        // Two inputs, two outputs, one output unused; and a nested checkpoint.
        let y = sample([3, 4], seed: 15)
        func pair(_ t: [Tensor]) -> [Tensor] { [block(t[0] * t[1]), t[1].exp()] }
        let plainPair = valueAndGrad(at: [x, y] + block.parameters) { pair([x, y])[0].sum() }
        let checkpointedPair = valueAndGrad(at: [x, y] + block.parameters) {
            checkpoint([x, y]) { t in checkpoint(t) { pair($0) } }[0].sum()
        }
        for (a, b) in zip(plainPair.gradients, checkpointedPair.gradients) {
            expectClose(b.toFloatArray(), a.toFloatArray(), atol: 1e-6, rtol: 1e-6, "multi-output checkpoint")
        }
    }

    @Test("checkpoint of an untracked input still reaches the captured parameters; outside a tape it just runs")
    func checkpointEdges() {
        let block = Block(), data = sample([2, 4], seed: 16)
        let plain = valueAndGrad(at: block.parameters) { block(data).sum() }
        let checkpointed = valueAndGrad(at: block.parameters) { checkpoint(data) { block($0) }.sum() }
        for (a, b) in zip(plain.gradients, checkpointed.gradients) {
            expectClose(b.toFloatArray(), a.toFloatArray(), atol: 1e-6, rtol: 1e-6, "untracked input")
        }
        expectClose(checkpoint(data) { block($0) }.toFloatArray(), block(data).toFloatArray(), atol: 0, rtol: 0, "no tape")
    }

    @Test("checkpoint passes gradients to captured tensors derived from parameters, nested too")
    func checkpointCapturedDerivedTensor() {
        let w = sample([3], seed: 17), x = sample([3], seed: 18)
        let plain = valueAndGrad(at: [w]) { () -> Tensor in
            let scaled = w * 2
            return (x * scaled).sum()
        }
        let checkpointed = valueAndGrad(at: [w]) { () -> Tensor in
            let scaled = w * 2  // not a parameter: its gradient must still reach w
            return checkpoint(x) { $0 * scaled }.sum()
        }
        expectClose(plain.gradients[0], x.doubles.map { 2 * $0 }, shape: [3], "plain")
        expectClose(checkpointed.gradients[0], x.doubles.map { 2 * $0 }, shape: [3], "checkpointed")
        let nested = valueAndGrad(at: [w, x]) { () -> Tensor in
            let scaled = w * 2
            return checkpoint(x) { outer in checkpoint(outer) { $0 * scaled } * w }.sum()
        }
        // d/dw sum(2 w^2 x) = 4 w x; d/dx = 2 w^2.
        let wv = w.doubles, xv = x.doubles
        expectClose(nested.gradients[0], zip(wv, xv).map { 4 * $0 * $1 }, shape: [3], "nested, w")
        expectClose(nested.gradients[1], wv.map { 2 * $0 * $0 }, shape: [3], "nested, x")
    }
}
