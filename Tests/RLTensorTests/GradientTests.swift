import RLTensor
import Testing

/// Every backward rule against central finite differences (f32 ops, Double accumulation of the
/// projected output; default tolerance `|analytic - numeric| <= 1e-3 + 1e-2 |numeric|`).
///
/// The differentiable ops, each covered below (keep this list in sync with `Sources/RLTensor`):
/// - elementwise: `+ - * /` (tensor-tensor with broadcasting; scalar on either side), prefix `-`,
///   `maximum`, `minimum`, `pow(Tensor, Tensor)`, `pow(Float)`, `exp`, `log`, `sqrt`, `rsqrt`,
///   `sigmoid`, `silu`, `tanh`, `abs`, `square`, `clamped`, `select`, `maskedFill`
/// - views and data movement: `reshaped`, `permuted`, `transposed`, `sliced`, `unsqueezed`,
///   `squeezed`, `expanded`, `contiguous`, `cast` (f32 <-> bf16, f32 <-> f16), `to`, `concat`,
///   `stack`, `split`
/// - reductions: `sum(axis:)`, `sum()`, `mean(axis:)`, `mean()`, `max(axis:)`, `min(axis:)`
/// - products: `matmul` (both operands, batched, 2-D shared rhs, transposed views, bf16 rhs for
///   the lhs gradient), `linear` (with bias)
/// - softmax family: `softmax`, `logSoftmax`, `tokenLogProbs` (with temperature), `crossEntropy`
/// - indexing: `gather(lastAxis:)`, `embedding` (repeated ids)
/// - fused: `rmsNorm` (input and weight), `rotaryEmbedding`, `swiglu` (both inputs), `attention`
///   (q, k, v; GQA; key mask; queryOffset)
/// - autograd: `checkpoint` (in `AutogradTests`)
@Suite("Gradients by finite differences")
struct GradientTests {
    @Test("tensor-tensor arithmetic with broadcasting", arguments: TestDevices.all)
    func arithmetic(device: Device) {
        let a = sample([2, 1, 3], seed: 1, device: device), b = sample([4, 1], seed: 2, device: device)
        let positive = sample([4, 1], seed: 3, low: 0.5, high: 1.5, device: device)
        gradientCheck([a, b], "+") { $0[0] + $0[1] }
        gradientCheck([a, b], "-") { $0[0] - $0[1] }
        gradientCheck([a, b], "*") { $0[0] * $0[1] }
        gradientCheck([a, positive], "/") { $0[0] / $0[1] }
        // Same shapes, and a 0-d scalar operand.
        let c = sample([2, 4, 3], seed: 4, device: device), s = Tensor(scalar: 0.7, device: device)
        gradientCheck([a, c], "same rank broadcast") { $0[0] * $0[1] + $0[1] }
        gradientCheck([c, s], "0-d operand") { $0[0] * $0[1] - $0[1] }
    }

    @Test("scalar forms and negation", arguments: TestDevices.all)
    func scalarForms(device: Device) {
        let x = sample([2, 3], seed: 5, device: device), positive = sample([2, 3], seed: 6, low: 0.5, high: 2, device: device)
        gradientCheck([x], "x + s, s + x") { (($0[0] + 2) * (3 + $0[0])) }
        gradientCheck([x], "x - s, s - x") { ($0[0] - 2) * (3 - $0[0]) }
        gradientCheck([x], "x * s, s * x, -x") { -(($0[0] * 2) * (0.5 * $0[0])) }
        gradientCheck([positive], "x / s, s / x") { ($0[0] / 3) + (2 / $0[0]) }
    }

    @Test("maximum, minimum and pow of two tensors", arguments: TestDevices.all)
    func binaryFunctions(device: Device) {
        let a = sample([3, 4], seed: 7, device: device)
        // b differs from a by at least 0.2 everywhere, so no finite-difference step crosses a tie.
        let offsets = awayFromZero([3, 4], seed: 8).toFloatArray()
        let b = Tensor(zip(a.toFloatArray(), offsets).map { $0 + $1 }, shape: [3, 4], device: device)
        gradientCheck([a, b], "maximum") { Tensor.maximum($0[0], $0[1]) }
        gradientCheck([a, b], "minimum") { Tensor.minimum($0[0], $0[1]) }
        let base = sample([3, 4], seed: 9, low: 0.5, high: 2, device: device), exponent = sample([4], seed: 10, low: -1.5, high: 2.5, device: device)
        gradientCheck([base, exponent], "pow(tensor, tensor)") { Tensor.pow($0[0], $0[1]) }
    }

    @Test("unary functions", arguments: TestDevices.all)
    func unary(device: Device) {
        let x = sample([2, 5], seed: 11, low: -2, high: 2, device: device)
        let positive = sample([2, 5], seed: 12, low: 0.5, high: 2, device: device)
        let kinked = awayFromZero([2, 5], seed: 13, device: device)
        gradientCheck([x], "exp") { $0[0].exp() }
        gradientCheck([positive], "log") { $0[0].log() }
        gradientCheck([positive], "sqrt") { $0[0].sqrt() }
        gradientCheck([positive], "rsqrt") { $0[0].rsqrt() }
        gradientCheck([x], "sigmoid") { $0[0].sigmoid() }
        gradientCheck([x], "silu") { $0[0].silu() }
        gradientCheck([x], "tanh") { $0[0].tanh() }
        gradientCheck([kinked], "abs") { $0[0].abs() }
        gradientCheck([x], "square") { $0[0].square() }
        gradientCheck([positive], "pow(Float)") { $0[0].pow(2.5) }
        gradientCheck([kinked], "pow(-1)") { $0[0].pow(-1) }
        // Values at least 0.15 from the bounds ±0.6: some clamped, some not.
        let mixed = Tensor([-0.9, -0.3, 0, 0.3, 0.9, -0.75, 0.1, 0.45], shape: [8], device: device)
        gradientCheck([mixed], "clamped") { $0[0].clamped(min: -0.6, max: 0.6) }
    }

    @Test("select and maskedFill", arguments: TestDevices.all)
    func selection(device: Device) {
        let condition = Tensor([1, 0, 1, 0, 0, 1] as [Float], shape: [2, 3], device: device)
        let a = sample([2, 3], seed: 14, device: device), b = sample([3], seed: 15, device: device)
        gradientCheck([a, b], "select with a broadcast operand") { Tensor.select(condition, $0[0], $0[1]) }
        gradientCheck([a], "maskedFill") { $0[0].maskedFill(condition, value: 5) * $0[0] }
    }

    @Test("views: reshape, permute, transpose, slice, (un)squeeze, expand, contiguous, to", arguments: TestDevices.all)
    func views(device: Device) {
        let x = sample([2, 3, 4], seed: 16, device: device)
        let weight = sample([24], seed: 17, device: device)
        // Multiply by distinct weights after each view so a misrouted gradient shows.
        func weighted(_ t: Tensor) -> Tensor { t.contiguous().reshaped([-1]) * weight.sliced(axis: 0, 0..<t.count) }
        gradientCheck([x], "reshaped") { weighted($0[0].reshaped([4, -1])) }
        gradientCheck([x], "permuted") { weighted($0[0].permuted([2, 0, 1])) }
        gradientCheck([x], "transposed") { weighted($0[0].transposed(0, 2)) }
        gradientCheck([x], "sliced") { weighted($0[0].sliced(axis: 1, 1..<3)) }
        gradientCheck([x], "slice of a slice") { weighted($0[0].sliced(axis: 2, 1..<4).sliced(axis: 0, 1..<2)) }
        gradientCheck([x], "unsqueezed, squeezed") { weighted($0[0].unsqueezed(1).squeezed(1)) }
        gradientCheck([x], "reshape of a non-contiguous view") { weighted($0[0].transposed().reshaped([6, 4])) }
        gradientCheck([x], "contiguous") { weighted($0[0].permuted([1, 0, 2]).contiguous()) }
        gradientCheck([x], "to") { weighted($0[0].to(device)) }
        let row = sample([1, 3, 1], seed: 18, device: device)
        gradientCheck([row], "expanded") { weighted($0[0].expanded(to: [2, 3, 4])) }
        gradientCheck([row], "expanded with a new leading axis") { weighted($0[0].expanded(to: [2, 1, 3, 4]).squeezed(1)) }
    }

    @Test("concat, stack, split", arguments: TestDevices.all)
    func joins(device: Device) {
        let a = sample([2, 3], seed: 19, device: device), b = sample([2, 2], seed: 20, device: device)
        gradientCheck([a, b], "concat") { Tensor.concat([$0[0], $0[1], $0[0]], axis: 1) }
        gradientCheck([a], "stack") { Tensor.stack([$0[0], $0[0].square()], axis: 1) }
        gradientCheck([a], "split") { t in
            let parts = t[0].split([1, 2], axis: 1)
            return parts[0] * parts[1]
        }
    }

    @Test("f32 <-> bf16 and f16 casts pass the gradient through", arguments: TestDevices.all)
    func casts(device: Device) {
        // Multiples of 1/64 in [-1, 1]: with a step of 1/8 every shifted input is exact in bf16
        // and f16, so the rounding in the forward pass does not disturb the finite differences.
        let grid = Tensor(sample([3, 4], seed: 21).toFloatArray().map { ($0 * 64).rounded() / 64 }, shape: [3, 4], device: device)
        gradientCheck([grid], step: 0.125, "f32 -> bf16 -> f32") { $0[0].cast(to: .bf16).cast(to: .f32) }
        gradientCheck([grid], step: 0.125, "f32 -> f16 -> f32") { $0[0].cast(to: .f16).cast(to: .f32) }
    }

    @Test("reductions", arguments: TestDevices.all)
    func reductions(device: Device) {
        let x = sample([2, 3, 4], seed: 22, device: device)
        for axis in [0, 1, -1] {
            gradientCheck([x], "sum \(axis)") { $0[0].sum(axis: axis) }
            gradientCheck([x], "mean \(axis) keepDims") { $0[0].mean(axis: axis, keepDims: true) }
        }
        gradientCheck([x], "sum()") { $0[0].sum() }
        gradientCheck([x], "mean()") { $0[0].mean() }
        let distinct = distinctValues([2, 3, 4], seed: 23, device: device)
        for axis in [0, 1, 2] {
            gradientCheck([distinct], "max \(axis)") { $0[0].max(axis: axis) }
            gradientCheck([distinct], "min \(axis) keepDims") { $0[0].min(axis: axis, keepDims: true) }
        }
    }

    @Test("matmul and linear, every operand layout", arguments: TestDevices.all)
    func products(device: Device) {
        let a = sample([3, 4], seed: 24, device: device), b = sample([4, 5], seed: 25, device: device)
        gradientCheck([a, b], "2-D") { $0[0].matmul($0[1]) }
        let aStored = sample([4, 3], seed: 26, device: device), bStored = sample([5, 4], seed: 27, device: device)
        gradientCheck([aStored, bStored], "transposed views") { $0[0].transposed().matmul($0[1].transposed()) }
        let batchA = sample([2, 3, 4], seed: 28, device: device), batchB = sample([2, 4, 2], seed: 29, device: device)
        gradientCheck([batchA, batchB], "batched") { $0[0].matmul($0[1]) }
        gradientCheck([batchA, sample([2, 2, 4], seed: 30, device: device)], "batched transposed rhs") { $0[0].matmul($0[1].transposed()) }
        gradientCheck([batchA, b], "batched x shared 2-D") { $0[0].matmul($0[1]) }
        for rows in [1, 6, 17] {
            let x = sample([rows, 9], seed: UInt64(31 + rows), device: device)
            let w = sample([5, 9], seed: 32, device: device), bias = sample([5], seed: 33, device: device)
            gradientCheck([x, w, bias], "linear, \(rows) rows") { $0[0].linear($0[1], bias: $0[2]) }
            // Products with bf16 weights may round x to bf16 (AVX512_BF16, AMX): x on a grid of
            // 1/64 and a step of 1/8 keep every shifted input exact in bf16, as in `casts`.
            let frozen = w.cast(to: .bf16)
            let grid = Tensor(x.toFloatArray().map { ($0 * 64).rounded() / 64 }, shape: [rows, 9], device: device)
            gradientCheck([grid], step: 0.125, "linear with a bf16 weight, \(rows) rows") { $0[0].linear(frozen) }
        }
    }

    @Test("softmax family", arguments: TestDevices.all)
    func softmaxFamily(device: Device) {
        let x = sample([2, 3, 5], seed: 34, low: -2, high: 2, device: device)
        gradientCheck([x], "softmax") { $0[0].softmax() }
        gradientCheck([x], "logSoftmax") { $0[0].logSoftmax() }
        let targets = Tensor(randomIndices(6, below: 5, seed: 35), shape: [2, 3], device: device)
        gradientCheck([x], "tokenLogProbs") { $0[0].tokenLogProbs(targets: targets) }
        gradientCheck([x], "tokenLogProbs T=0.7") { $0[0].tokenLogProbs(targets: targets, temperature: 0.7) }
        gradientCheck([x], "tokenLogProbs of a view") { $0[0].transposed(0, 1).tokenLogProbs(targets: targets.transposed(), temperature: 1.3) }
        gradientCheck([x], "crossEntropy") { $0[0].crossEntropy(targets: targets) }
    }

    @Test("gather and embedding with repeated indices", arguments: TestDevices.all)
    func indexing(device: Device) {
        let x = sample([2, 5], seed: 36, device: device)
        let indices = Tensor([0, 3, 3, 1, 4, 4, 4, 0] as [Int32], shape: [2, 4], device: device)
        gradientCheck([x], "gather") { $0[0].gather(lastAxis: indices) }
        let table = sample([5, 3], seed: 37, device: device)
        let ids = Tensor([2, 0, 2, 4, 2, 1] as [Int32], shape: [2, 3], device: device)
        gradientCheck([table], "embedding") { $0[0].embedding(ids) }
    }

    @Test("rmsNorm, rotary embedding, swiglu", arguments: TestDevices.all)
    func fused(device: Device) {
        let x = sample([3, 6], seed: 38, device: device), w = sample([6], seed: 39, low: 0.5, high: 1.5, device: device)
        gradientCheck([x, w], "rmsNorm") { $0[0].rmsNorm(weight: $0[1], eps: 1e-5) }
        let r = sample([2, 3, 2, 4], seed: 40, device: device)
        let positions = Tensor([0, 1, 7, 3, 100, 2048] as [Int32], shape: [2, 3], device: device)
        gradientCheck([r], "rotaryEmbedding") { $0[0].rotaryEmbedding(positions: positions, theta: 10_000) }
        let gate = sample([2, 7], seed: 41, low: -3, high: 3, device: device), up = sample([2, 7], seed: 42, device: device)
        gradientCheck([gate, up], "swiglu") { Tensor.swiglu(gate: $0[0], up: $0[1]) }
    }

    @Test("attention: q, k, v with GQA, key mask and query offset", arguments: TestDevices.all)
    func attention(device: Device) {
        let q = sample([2, 3, 4, 4], seed: 43, device: device)
        let k = sample([2, 3, 2, 4], seed: 44, device: device), v = sample([2, 3, 2, 4], seed: 45, device: device)
        gradientCheck([q, k, v], "causal GQA") { Tensor.attention(query: $0[0], key: $0[1], value: $0[2]) }
        // Row 1 is left-padded by two: its first two queries see no key at all.
        let mask = Tensor([1, 1, 1, 0, 0, 1] as [Int32], shape: [2, 3], device: device)
        gradientCheck([q, k, v], "key mask") { Tensor.attention(query: $0[0], key: $0[1], value: $0[2], keyMask: mask) }
        let oneQuery = sample([2, 1, 4, 4], seed: 46, device: device)
        gradientCheck([oneQuery, k, v], "decode step, query offset 2") {
            Tensor.attention(query: $0[0], key: $0[1], value: $0[2], keyMask: mask, queryOffset: 2)
        }
        let twoQueries = sample([2, 2, 4, 4], seed: 47, device: device)
        gradientCheck([twoQueries, k, v], "query offset 1, scale 0.8") {
            Tensor.attention(query: $0[0], key: $0[1], value: $0[2], queryOffset: 1, scale: 0.8)
        }
    }

    /// At this size the backward pass runs one (sequence, KV head) task per worker thread, each
    /// accumulating its own key and value gradients: it must agree with autograd through the
    /// same attention written with basic ops (expanded KV heads, batched matmuls, a causal
    /// masked softmax).
    @Test("attention backward split across threads matches autograd of the basic-op composite", arguments: TestDevices.all)
    func attentionAcrossThreads(device: Device) {
        let (batch, length, heads, kvHeads, dim) = (2, 64, 4, 2, 32)
        let q = sample([batch, length, heads, dim], seed: 61, device: device)
        let k = sample([batch, length, kvHeads, dim], seed: 62, device: device)
        let v = sample([batch, length, kvHeads, dim], seed: 63, device: device)
        let weights = sample([batch, length, heads, dim], seed: 64, device: device)
        let future = Tensor((0..<(length * length)).map { $0 % length > $0 / length ? 1 : 0 } as [Float], shape: [length, length], device: device)
        func perHead(_ t: Tensor) -> Tensor {  // [B, T, KV, D] -> [B, H, T, D]
            t.reshaped([batch, length, kvHeads, 1, dim]).expanded(to: [batch, length, kvHeads, heads / kvHeads, dim])
                .reshaped([batch, length, heads, dim]).permuted([0, 2, 1, 3])
        }
        let fused = valueAndGrad(at: [q, k, v]) { (Tensor.attention(query: q, key: k, value: v) * weights).sum() }
        let composite = valueAndGrad(at: [q, k, v]) {
            let scores = q.permuted([0, 2, 1, 3]).matmul(perHead(k).transposed()) * (1 / Float(dim).squareRoot())
            let probabilities = scores.maskedFill(future, value: -.infinity).softmax()
            return (probabilities.matmul(perHead(v)).permuted([0, 2, 1, 3]) * weights).sum()
        }
        for (name, (got, want)) in zip(["query", "key", "value"], zip(fused.gradients, composite.gradients)) {
            expectClose(got, want.doubles, shape: want.shape, atol: 1e-4, rtol: 1e-4, "gradient of \(name)")
        }
    }

    @Test("a composite: linear layer, silu, softmax, square", arguments: TestDevices.all)
    func composite(device: Device) {
        let x = sample([2, 3], seed: 49, device: device), w = sample([3, 3], seed: 50, device: device), b = sample([3], seed: 51, device: device)
        gradientCheck([x, w, b], "composite") { t in (t[0].matmul(t[1]) + t[2]).silu().softmax().square().sum() }
    }

    @Test("negative control: the checker catches wrong gradients")
    func negativeControl() {
        let x = sample([2, 3], seed: 48, low: 0.5, high: 1.5)
        // Value x^2 but gradient x: the detached factor hides half of the product rule.
        let halfProductRule = gradientError([x]) { $0[0].detached() * $0[0] }
        #expect(halfProductRule.worstRatio > 20, "checker missed a halved gradient: \(halfProductRule.worstRatio)")
        // Value x^2 but gradient 1 (a straight-through estimator).
        let straightThrough = gradientError([x]) { $0[0] + ($0[0].square() - $0[0]).detached() }
        #expect(straightThrough.worstRatio > 20, "checker missed a straight-through gradient: \(straightThrough.worstRatio)")
        // And the same functions written honestly pass.
        #expect(gradientError([x]) { $0[0] * $0[0] }.worstRatio <= 1)
    }
}
