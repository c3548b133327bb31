#if canImport(Glibc)
import Glibc
#endif
import RLTensor

/// Greedy-free decode of a randomly initialised Qwen2-shaped decoder written directly against the
/// backend (bf16 weights; f32 or bf16 activations and KV cache, computed in f32; f32 logits; a
/// preallocated KV cache), to measure tokens/s independent of the model layer.
struct DecodeBenchmark {
    struct Config {
        var hidden, layers, heads, kvHeads, headDim, intermediate, vocab: Int
        var theta: Float
        static let qwen2_1_5B = Config(hidden: 1536, layers: 28, heads: 12, kvHeads: 2, headDim: 128, intermediate: 8960,
                                       vocab: 151_936, theta: 10_000)
    }

    struct Layer {
        var inNorm, postNorm: BufferRef
        var q, k, v, o, gate, up, down: BufferRef  // bf16 [out, in]
        var qBias, kBias, vBias: BufferRef  // of the activation type
        var keyCache, valueCache: BufferRef  // [batch, maxLength, kvHeads, headDim] of the activation type
    }

    let gpu: CUDABackend
    let config: Config
    let batch: Int
    let maxLength: Int
    /// f32 or bf16.
    let activations: DType
    var layers: [Layer] = []
    var embedding: BufferRef, finalNorm: BufferRef, lmHead: BufferRef

    struct Result {
        var tokensPerSecond = 0.0, secondsPerStep = 0.0, bytesPerStep = 0.0
        var error: String?
    }

    init(gpu: CUDABackend, config: Config, batch: Int, maxLength: Int, activations: DType = .f32) {
        self.gpu = gpu; self.config = config; self.batch = batch; self.maxLength = maxLength; self.activations = activations
        var seed: UInt64 = 100
        func weight(_ rows: Int, _ cols: Int) -> BufferRef {
            let scratch = gpu.allocate(byteCount: rows * cols * 4), w = gpu.allocate(byteCount: rows * cols * 2)
            seed += 1
            gpu.randomFill(BufferRef(scratch), count: rows * cols, distribution: .normal(mean: 0, std: 0.02), seed: seed, counterOffset: 0)
            gpu.cast(BufferRef(scratch), from: .f32, to: BufferRef(w), as: .bf16, count: rows * cols)
            return BufferRef(w)
        }
        func vector(_ n: Int, _ value: Double, _ dtype: DType = .f32) -> BufferRef {
            let b = gpu.allocate(byteCount: n * dtype.byteSize)
            gpu.fill(BufferRef(b), count: n, dtype: dtype, value: value)
            return BufferRef(b)
        }
        let c = config, kv = c.kvHeads * c.headDim
        embedding = weight(c.vocab, c.hidden)
        finalNorm = vector(c.hidden, 1)
        lmHead = weight(c.vocab, c.hidden)
        for _ in 0..<c.layers {
            layers.append(Layer(
                inNorm: vector(c.hidden, 1), postNorm: vector(c.hidden, 1),
                q: weight(c.hidden, c.hidden), k: weight(kv, c.hidden), v: weight(kv, c.hidden), o: weight(c.hidden, c.hidden),
                gate: weight(c.intermediate, c.hidden), up: weight(c.intermediate, c.hidden), down: weight(c.hidden, c.intermediate),
                qBias: vector(c.hidden, 0.01, activations), kBias: vector(kv, 0.01, activations), vBias: vector(kv, 0.01, activations),
                keyCache: vector(batch * maxLength * kv, 0, activations), valueCache: vector(batch * maxLength * kv, 0, activations)))
        }
    }

    /// Weight bytes read per decode step (bf16), plus the KV cache read at `length`.
    func bytesPerStep(length: Int) -> Double {
        let c = config, kv = c.kvHeads * c.headDim
        let perLayer = 2 * c.hidden * c.hidden + 2 * kv * c.hidden + 3 * c.hidden * c.intermediate
        let weights = Double(c.layers * perLayer + c.vocab * c.hidden) * 2
        let cache = Double(c.layers * 2 * batch * length * kv * activations.byteSize)
        return weights + cache
    }

    /// Runs `steps` single-token steps after `prompt` positions of (untimed) cache.
    func run(prompt: Int, steps: Int) -> Result {
        let c = config, kv = c.kvHeads * c.headDim, b = batch, t = activations
        func f32(_ n: Int) -> BufferRef { BufferRef(gpu.allocate(byteCount: n * 4)) }
        func act(_ n: Int) -> BufferRef { BufferRef(gpu.allocate(byteCount: n * t.byteSize)) }
        let x = act(b * c.hidden), h = act(b * c.hidden), rstd = f32(b), q = act(b * c.hidden), qr = act(b * c.hidden)
        let k = act(b * kv), v = act(b * kv), kr = act(b * kv), attn = act(b * c.hidden), lse = f32(b * c.heads)
        let g = act(b * c.intermediate), u = act(b * c.intermediate), a = act(b * c.intermediate)
        let logits = f32(b * c.vocab), best = f32(b)
        let idsBuffer = gpu.allocate(byteCount: b * 4), posBuffer = gpu.allocate(byteCount: b * 4)
        let ids = (0..<b).map { Int32($0 * 37 % c.vocab) }
        ids.withUnsafeBytes { gpu.upload($0, to: idsBuffer, byteOffset: 0) }

        /// `out = input W^T (+ bias)`, or `out += input W^T` with `accumulate` (the residual adds);
        /// `out` of the activation type unless `outType` says otherwise (the f32 logits).
        func linear(_ input: BufferRef, _ w: BufferRef, _ out: BufferRef, n: Int, k: Int, bias: BufferRef? = nil, accumulate: Bool = false,
                    outType: DType? = nil) {
            var d = GemmDescriptor(m: b, n: n, k: k, a: input, lda: k, b: w, ldb: k, c: out, ldc: n)
            d.transposeB = true
            d.bType = .bf16
            d.aType = t
            d.cType = outType ?? t
            d.beta = accumulate ? 1 : 0
            gpu.gemm(d)
            if let bias {
                gpu.binary(.add, StridedRef(out.buffer, offset: out.offset, strides: [n, 1]),
                           StridedRef(bias.buffer, offset: bias.offset, strides: [0, 1]), out, shape: [b, n], dtype: t)
            }
        }
        func step(position: Int) {
            let positions = [Int32](repeating: Int32(position), count: b)
            positions.withUnsafeBytes { gpu.upload($0, to: posBuffer, byteOffset: 0) }
            gpu.embedding(table: embedding, tableType: .bf16, ids: BufferRef(idsBuffer), x, count: b, dim: c.hidden, outputType: t)
            for layer in layers {
                gpu.rmsNorm(x, weight: layer.inNorm, h, rstd: rstd, rows: b, cols: c.hidden, eps: 1e-6, dtype: t)
                linear(h, layer.q, q, n: c.hidden, k: c.hidden, bias: layer.qBias)
                linear(h, layer.k, k, n: kv, k: c.hidden, bias: layer.kBias)
                linear(h, layer.v, v, n: kv, k: c.hidden, bias: layer.vBias)
                gpu.rope(q, positions: BufferRef(posBuffer), qr, tokens: b, heads: c.heads, headDim: c.headDim, theta: c.theta, inverse: false, dtype: t)
                gpu.rope(k, positions: BufferRef(posBuffer), kr, tokens: b, heads: c.kvHeads, headDim: c.headDim, theta: c.theta, inverse: false, dtype: t)
                // Write this step's K/V into the cache at `position`.
                let cacheOffset = position * kv
                gpu.copy(dtype: t, shape: [b, kv], from: StridedRef(kr.buffer, offset: 0, strides: [kv, 1]),
                         to: StridedRef(layer.keyCache.buffer, offset: cacheOffset, strides: [maxLength * kv, 1]))
                gpu.copy(dtype: t, shape: [b, kv], from: StridedRef(v.buffer, offset: 0, strides: [kv, 1]),
                         to: StridedRef(layer.valueCache.buffer, offset: cacheOffset, strides: [maxLength * kv, 1]))
                var d = AttentionDescriptor(batch: b, queryLength: 1, keyLength: position + 1, queryHeads: c.heads, kvHeads: c.kvHeads,
                                            headDim: c.headDim, queryOffset: position, scale: 1 / Float(c.headDim).squareRoot(),
                                            queryStrides: (c.hidden, c.hidden), keyStrides: (maxLength * kv, kv),
                                            valueStrides: (maxLength * kv, kv), keyMaskStride: 0)
                d.dtype = t
                gpu.attention(d, query: qr, key: layer.keyCache, value: layer.valueCache, keyMask: nil, output: attn, logSumExp: lse)
                linear(attn, layer.o, x, n: c.hidden, k: c.hidden, accumulate: true)
                gpu.rmsNorm(x, weight: layer.postNorm, h, rstd: rstd, rows: b, cols: c.hidden, eps: 1e-6, dtype: t)
                linear(h, layer.gate, g, n: c.intermediate, k: c.hidden)
                linear(h, layer.up, u, n: c.intermediate, k: c.hidden)
                gpu.swiglu(gate: g, up: u, a, count: b * c.intermediate, dtype: t)
                linear(a, layer.down, x, n: c.hidden, k: c.intermediate, accumulate: true)
            }
            gpu.rmsNorm(x, weight: finalNorm, h, rstd: rstd, rows: b, cols: c.hidden, eps: 1e-6, dtype: t)
            linear(h, lmHead, logits, n: c.vocab, k: c.hidden, outType: .f32)
            gpu.reduce(.max, logits, best, outer: b, axis: c.vocab, inner: 1)
        }
        do {
            // The prompt positions' cache entries are left at their random-free zero state: only
            // the lengths matter for timing. Warm up at the first decode position.
            step(position: prompt)
            try gpu.synchronize()
            let start = monotonicSeconds()
            for s in 0..<steps { step(position: prompt + s) }
            try gpu.synchronize()
            let seconds = (monotonicSeconds() - start) / Double(steps)
            return Result(tokensPerSecond: Double(b) / seconds, secondsPerStep: seconds,
                          bytesPerStep: bytesPerStep(length: prompt + steps / 2))
        } catch {
            return Result(error: "\(error)")
        }
    }

    /// Device-to-device copy bandwidth (bytes read + written per second) of a 1 GiB buffer.
    static func measureBandwidth(_ gpu: CUDABackend) -> Double {
        let n = 1 << 28  // floats
        let a = gpu.allocate(byteCount: n * 4), b = gpu.allocate(byteCount: n * 4)
        gpu.fill(BufferRef(a), count: n, dtype: .f32, value: 1)
        let src = StridedRef(a, offset: 0, strides: [1]), dst = StridedRef(b, offset: 0, strides: [1])
        gpu.copy(dtype: .f32, shape: [n], from: src, to: dst)
        try? gpu.synchronize()
        let start = monotonicSeconds(), iterations = 10
        for _ in 0..<iterations { gpu.copy(dtype: .f32, shape: [n], from: src, to: dst) }
        try? gpu.synchronize()
        return Double(2 * n * 4 * iterations) / (monotonicSeconds() - start)
    }
}
