import RLTensor
import Testing

/// bf16 activations of inference on the CPU backend: bf16 storage, f32 arithmetic. Every op's
/// bf16 result is exactly its f32 result on the same (bf16-representable) inputs, rounded once
/// to bf16, including views read through strides and offsets.
@Suite("bf16 activations")
struct BF16ActivationTests {
    /// Inputs whose values bf16 holds exactly, as f32 and as bf16.
    private func pair(_ shape: [Int], seed: UInt64, low: Float = -2, high: Float = 2) -> (f32: Tensor, bf16: Tensor) {
        let bf16 = sample(shape, seed: seed, low: low, high: high).cast(to: .bf16)
        return (bf16.cast(to: .f32), bf16)
    }

    /// `got` (bf16) is `want` (f32) rounded to bf16, element for element.
    private func expectRounded(_ got: Tensor, _ want: Tensor, _ what: Comment) {
        #expect(got.dtype == .bf16, what)
        #expect(got.shape == want.shape, what)
        #expect(got.cast(to: .f32).toFloatArray() == want.cast(to: .bf16).cast(to: .f32).toFloatArray(), what)
    }

    @Test("RMSNorm, RoPE, SwiGLU and broadcast adds")
    func elementwiseOps() {
        let x = pair([2, 3, 4, 8], seed: 1), up = pair([2, 3, 4, 8], seed: 2)
        let weight = sample([8], seed: 3, low: 0.5, high: 1.5)
        expectRounded(x.bf16.rmsNorm(weight: weight, eps: 1e-6), x.f32.rmsNorm(weight: weight, eps: 1e-6), "rmsNorm")
        let positions = Tensor([0, 1, 5, 2, 3, 900] as [Int32], shape: [2, 3])
        expectRounded(x.bf16.rotaryEmbedding(positions: positions, theta: 10_000),
                      x.f32.rotaryEmbedding(positions: positions, theta: 10_000), "rotaryEmbedding")
        expectRounded(Tensor.swiglu(gate: x.bf16, up: up.bf16), Tensor.swiglu(gate: x.f32, up: up.f32), "swiglu")
        let row = pair([8], seed: 4)
        expectRounded(x.bf16 + row.bf16, x.f32 + row.f32, "broadcast add")
        // A strided view (a slice of the head axis) as the left operand.
        expectRounded(x.bf16.sliced(axis: 2, 1..<3) * up.bf16.sliced(axis: 2, 0..<2),
                      x.f32.sliced(axis: 2, 1..<3) * up.f32.sliced(axis: 2, 0..<2), "strided multiply")
    }

    @Test("linear layers with bf16 weights and a bias; embedding rows as bf16", arguments: [1, 3, 40])
    func products(rows: Int) {
        let x = pair([rows, 24], seed: 10), weight = sample([16, 24], seed: 11).cast(to: .bf16)
        let bias = sample([16], seed: 12)
        // The f32 path's bias is rounded to bf16 as the bf16 path's is.
        let roundedBias = bias.cast(to: .bf16).cast(to: .f32)
        expectRounded(x.bf16.linear(weight, bias: bias), x.f32.linear(weight).cast(to: .bf16).cast(to: .f32) + roundedBias,
                      "linear with bias")
        expectRounded(x.bf16.linear(weight), x.f32.linear(weight), "linear")
        let ids = Tensor([3, 0, 15, 3] as [Int32], shape: [2, 2])
        let table = sample([16, 24], seed: 13)
        expectRounded(table.embedding(ids, as: .bf16), table.embedding(ids), "embedding of an f32 table")
        expectRounded(weight.embedding(ids, as: .bf16), weight.embedding(ids), "embedding of a bf16 table")
    }

    @Test("attention over a cache-like slice and paged decode attention over a bf16 cache")
    func attention() {
        let q = pair([2, 3, 4, 8], seed: 20), cacheKeys = pair([2, 10, 2, 8], seed: 21), cacheValues = pair([2, 10, 2, 8], seed: 22)
        let mask = Tensor([1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0] as [Int32], shape: [2, 10])
        func attend(_ q: Tensor, _ k: Tensor, _ v: Tensor) -> Tensor {
            Tensor.attention(query: q, key: k.sliced(axis: 1, 0..<7), value: v.sliced(axis: 1, 0..<7),
                             keyMask: mask.sliced(axis: 1, 0..<7), queryOffset: 4)
        }
        expectRounded(attend(q.bf16, cacheKeys.bf16, cacheValues.bf16), attend(q.f32, cacheKeys.f32, cacheValues.f32), "attention")

        let keyPool = pair([6, 4, 2, 8], seed: 23), valuePool = pair([6, 4, 2, 8], seed: 24), query = pair([2, 1, 4, 8], seed: 25)
        let tables = Tensor([5, 1, 3, 2, 0, 0] as [Int32], shape: [2, 3]), lengths = Tensor([11, 6] as [Int32], shape: [2])
        func paged(_ q: Tensor, _ k: Tensor, _ v: Tensor) -> Tensor {
            Tensor.pagedDecodeAttention(query: q, keyBlocks: k, valueBlocks: v, blockTables: tables, lengths: lengths, maxLength: 11)
        }
        expectRounded(paged(query.bf16, keyPool.bf16, valuePool.bf16), paged(query.f32, keyPool.f32, valuePool.f32), "paged decode attention")
    }

    @Test("rows written into a bf16 cache in place")
    func assignRows() {
        let cache = Tensor.zeros([5, 2, 4]).cast(to: .bf16), rows = pair([2, 2, 4], seed: 30)
        cache.assignRows(Tensor([4, 1] as [Int32], shape: [2]), from: rows.bf16)
        let values = cache.cast(to: .f32).toFloatArray(), written = rows.f32.toFloatArray()
        #expect(Array(values[32..<40]) == Array(written[0..<8]))
        #expect(Array(values[8..<16]) == Array(written[8..<16]))
        #expect(values[0..<8].allSatisfy { $0 == 0 } && values[16..<32].allSatisfy { $0 == 0 })
    }
}
