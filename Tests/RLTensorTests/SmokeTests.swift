import RLTensor
import Testing

@Suite("Smoke")
struct SmokeTests {
    @Test func matmulMatchesNaive() {
        let a = sample([3, 5], seed: 1), b = sample([5, 4], seed: 2)
        let av = a.toFloatArray(), bv = b.toFloatArray()
        var expected = [Float](repeating: 0, count: 12)
        for i in 0..<3 { for j in 0..<4 { for k in 0..<5 { expected[i * 4 + j] += av[i * 5 + k] * bv[k * 4 + j] } } }
        expectClose(a.matmul(b).toFloatArray(), expected)
        // A transposed view and the few-row kernel agree with the plain product.
        let w = sample([4, 5], seed: 3)
        expectClose(a.linear(w).toFloatArray(), a.matmul(w.transposed().contiguous()).toFloatArray())
    }

    @Test func gradientsOfAComposite() {
        let x = sample([2, 3], seed: 4), w = sample([3, 3], seed: 5), b = sample([3], seed: 6)
        gradientCheck([x, w, b]) { t in (t[0].matmul(t[1]) + t[2]).silu().softmax().square().sum() }
    }

    @Test func attentionGradients() {
        let q = sample([1, 3, 2, 4], seed: 7), k = sample([1, 3, 1, 4], seed: 8), v = sample([1, 3, 1, 4], seed: 9)
        gradientCheck([q, k, v]) { t in Tensor.attention(query: t[0], key: t[1], value: t[2]).square().sum() }
    }
}
