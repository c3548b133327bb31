import RLTensor

extension CUDAConformance.Suite {
    /// The inference ops with bf16 activations (storage bf16, arithmetic f32) through the Tensor
    /// API, GPU against CPU: embedding rows, RMSNorm, few-row (rl_gemv_bf16) and many-row (cuBLAS)
    /// products with bf16 weights and a bias, RoPE, SwiGLU, residual adds, attention over a
    /// cache-like slice (prefill, and flash-decoding at 300 keys), rows written into a bf16 paged
    /// pool and paged decode attention. The two backends round the same f32 values, so they
    /// differ by about one bf16 rounding per step.
    func bf16Activations() throws {
        typealias H = CUDAConformance.Suite
        func run(_ device: Device) -> [Float] {
            func values(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
                Tensor(H.values(shape.reduce(1, *), seed: seed, scale: scale), shape: shape, device: device)
            }
            let (hidden, heads, kvHeads, dim) = (64, 4, 2, 16)
            let table = values([50, hidden], seed: 60).cast(to: .bf16)
            let norm = values([hidden], seed: 61, scale: 0.5) + Tensor.ones([hidden], device: device)
            let wq = values([heads * dim, hidden], seed: 62, scale: 0.2).cast(to: .bf16)
            let bias = values([heads * dim], seed: 63, scale: 0.1)
            let wGate = values([96, hidden], seed: 64, scale: 0.2).cast(to: .bf16)
            let wUp = values([96, hidden], seed: 65, scale: 0.2).cast(to: .bf16)
            var outputs: [Tensor] = []
            for rows in [3, 40] {
                let ids = Tensor((0..<Int32(rows)).map { ($0 * 7) % 50 }, shape: [1, rows], device: device)
                let x = table.embedding(ids, as: .bf16)
                let h = x.rmsNorm(weight: norm, eps: 1e-6)
                let q = h.linear(wq, bias: bias).reshaped([1, rows, heads, dim])
                let positions = Tensor((0..<Int32(rows)).map { $0 + 5 }, shape: [1, rows], device: device)
                let mlp = Tensor.swiglu(gate: h.linear(wGate), up: h.linear(wUp))
                outputs += [x, h, q.rotaryEmbedding(positions: positions, theta: 10_000), mlp, x + h]
            }
            let cacheKeys = values([2, 320, kvHeads, dim], seed: 66).cast(to: .bf16)
            let cacheValues = values([2, 320, kvHeads, dim], seed: 67).cast(to: .bf16)
            let queries = values([2, 4, heads, dim], seed: 68).cast(to: .bf16)
            outputs.append(Tensor.attention(query: queries, key: cacheKeys.sliced(axis: 1, 0..<20), value: cacheValues.sliced(axis: 1, 0..<20), queryOffset: 16))
            outputs.append(Tensor.attention(query: queries.sliced(axis: 1, 0..<1), key: cacheKeys.sliced(axis: 1, 0..<300),
                                            value: cacheValues.sliced(axis: 1, 0..<300), queryOffset: 299))
            let pool = Tensor.zeros([8, 4, kvHeads, dim], dtype: .bf16, device: device)
            pool.reshaped([32, kvHeads, dim]).assignRows(Tensor((0..<Int32(20)).map { ($0 * 3) % 32 }, shape: [20], device: device),
                                                         from: cacheKeys.sliced(axis: 0, 0..<1).sliced(axis: 1, 0..<20).reshaped([20, kvHeads, dim]))
            let tables = Tensor([7, 2, 0, 5, 1, 3, 6, 4] as [Int32], shape: [2, 4], device: device)
            outputs.append(pool)
            outputs.append(Tensor.pagedDecodeAttention(query: queries.sliced(axis: 1, 0..<1), keyBlocks: pool, valueBlocks: pool,
                                                       blockTables: tables, lengths: Tensor([13, 16] as [Int32], shape: [2], device: device),
                                                       maxLength: 16))
            return outputs.flatMap { $0.cast(to: .f32).toFloatArray() }
        }
        try compare("bf16 activations", eps: 3e-2, atol: 1e-2) { b in withoutGradients { run(b.device) } }
    }
}
