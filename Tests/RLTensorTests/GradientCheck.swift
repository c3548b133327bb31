import RLTensor
import Testing

/// Central finite differences of a scalar function of `inputs[index]`, compared with autograd.
/// Uses f32 with a step of 1e-2 and a combined tolerance, so it is only used on smooth, small
/// problems; the returned value is the worst `|analytic - numeric| / (atol + rtol * |numeric|)`.
func gradientCheck(_ inputs: [Tensor], step: Float = 1e-2, atol: Float = 2e-3, rtol: Float = 2e-2,
                   _ f: ([Tensor]) -> Tensor, sourceLocation: SourceLocation = #_sourceLocation) {
    let (_, analytic) = valueAndGrad(at: inputs) { f(inputs) }
    for (index, input) in inputs.enumerated() {
        let base = input.toFloatArray()
        let grad = analytic[index].toFloatArray()
        #expect(grad.count == base.count, sourceLocation: sourceLocation)
        var worst: Float = 0
        var worstAt = 0
        for i in 0..<base.count {
            func value(_ delta: Float) -> Float {
                var shifted = base
                shifted[i] += delta
                var moved = inputs
                moved[index] = Tensor(shifted, shape: input.shape)
                return f(moved).item()
            }
            let numeric = (value(step) - value(-step)) / (2 * step)
            let ratio = abs(grad[i] - numeric) / (atol + rtol * abs(numeric))
            if ratio > worst { worst = ratio; worstAt = i }
        }
        #expect(worst <= 1, "input \(index) element \(worstAt): analytic \(grad[worstAt]) off by \(worst)x tolerance",
                sourceLocation: sourceLocation)
    }
}

/// Deterministic test data in a range that keeps every op well-conditioned.
func sample(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1) -> Tensor {
    Tensor.randomUniform(shape, low: low, high: high, seed: seed)
}

func expectClose(_ a: [Float], _ b: [Float], atol: Float = 1e-5, rtol: Float = 1e-5,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, sourceLocation: sourceLocation)
    for i in 0..<min(a.count, b.count) where !(abs(a[i] - b[i]) <= atol + rtol * abs(b[i])) {
        Issue.record("element \(i): \(a[i]) vs expected \(b[i])", sourceLocation: sourceLocation)
        return
    }
}
