import Foundation
import RLTensor
import Testing

/// The softmax family, indexing and the fused transformer ops against naive loops.
@Suite("Fused and indexing forward")
struct FusedForwardTests {
    @Test("softmax and logSoftmax, including large logits and a one-column axis", arguments: TestDevices.all)
    func softmaxFamily(device: Device) {
        let x = sample([2, 3, 5], seed: 51, low: -4, high: 4, device: device)
        let large = Tensor([1000, 1001, 999, -1000, 0, 1] as [Float], shape: [2, 3], device: device)
        let cases: [(Tensor, Int)] = [(x, 5), (large, 3), (sample([4, 1], seed: 52, device: device), 1)]
        for (t, cols) in cases {
            let v = t.doubles
            let rows: [[Double]] = (0..<(v.count / cols)).map { r in Array(v[(r * cols)..<(r * cols + cols)]) }
            expectClose(t.softmax(), rows.flatMap(Naive.softmax), shape: t.shape, atol: 1e-6, rtol: 1e-5, "softmax")
            expectClose(t.logSoftmax(), rows.flatMap(Naive.logSoftmax), shape: t.shape, atol: 1e-5, rtol: 1e-6, "logSoftmax")
        }
        // A masked logit (-inf) gets probability 0.
        let masked = Tensor([0, -.infinity, 0], shape: [1, 3], device: device)
        expectClose(masked.softmax(), [0.5, 0, 0.5], shape: [1, 3], "masked softmax")
    }

    @Test("tokenLogProbs and crossEntropy with temperature", arguments: TestDevices.all, [Float(1), 0.7, 1.6])
    func tokenLogProbs(device: Device, temperature: Float) {
        let (batch, tokens, vocab) = (2, 3, 11)
        let logits = sample([batch, tokens, vocab], seed: 61, low: -5, high: 5, device: device)
        let targets = randomIndices(batch * tokens, below: vocab, seed: 62)
        let ids = Tensor(targets, shape: [batch, tokens], device: device)
        let lv = logits.doubles
        let want = (0..<(batch * tokens)).map { r in
            Naive.logSoftmax(lv[(r * vocab)..<(r * vocab + vocab)].map { $0 / Double(temperature) })[Int(targets[r])]
        }
        expectClose(logits.tokenLogProbs(targets: ids, temperature: temperature), want, shape: [batch, tokens],
                    atol: 1e-5, rtol: 1e-5, "tokenLogProbs T=\(temperature)")
        if temperature == 1 {
            expectClose(logits.crossEntropy(targets: ids), [-want.reduce(0, +) / Double(want.count)], shape: [],
                        atol: 1e-5, rtol: 1e-5, "crossEntropy")
        }
    }

    @Test("concat, stack and split", arguments: TestDevices.all)
    func joinAndSplit(device: Device) {
        let a = sample([2, 3], seed: 71, device: device), b = sample([2, 1], seed: 72, device: device)
        let av = a.doubles, bv = b.doubles
        expectClose(Tensor.concat([a, b], axis: 1), [av[0], av[1], av[2], bv[0], av[3], av[4], av[5], bv[1]], shape: [2, 4], "concat axis 1")
        expectClose(Tensor.concat([a, a], axis: 0), av + av, shape: [4, 3], "concat axis 0")
        // A strided (transposed) part is read through its strides.
        expectClose(Tensor.concat([a.transposed(), a.transposed()], axis: -1),
                    [av[0], av[3], av[0], av[3], av[1], av[4], av[1], av[4], av[2], av[5], av[2], av[5]], shape: [3, 4], "concat views")
        expectClose(Tensor.stack([a, a], axis: 1), [av[0], av[1], av[2], av[0], av[1], av[2], av[3], av[4], av[5], av[3], av[4], av[5]],
                    shape: [2, 2, 3], "stack axis 1")
        let parts = a.split([1, 2], axis: 1)
        expectClose(parts[0], [av[0], av[3]], shape: [2, 1], "split 0")
        expectClose(parts[1], [av[1], av[2], av[4], av[5]], shape: [2, 2], "split 1")
    }

    @Test("gather along the last axis and embedding lookups (f32 and bf16 tables)", arguments: TestDevices.all)
    func indexing(device: Device) {
        let x = sample([2, 3, 5], seed: 81, device: device)
        let idx: [Int32] = [4, 0, 4, 1, 2, 3, 0, 0, 1, 1, 2, 2]
        let xv = x.doubles
        let want = (0..<12).map { xv[($0 / 2) * 5 + Int(idx[$0])] }
        expectClose(x.gather(lastAxis: Tensor(idx, shape: [2, 3, 2], device: device)), want, shape: [2, 3, 2], "gather")

        let table = sample([6, 4], seed: 82, device: device)
        let ids: [Int32] = [5, 0, 5, 2]
        let tv = table.doubles
        let rows = ids.flatMap { id in tv[(Int(id) * 4)..<(Int(id) * 4 + 4)] }
        expectClose(table.embedding(Tensor(ids, shape: [2, 2], device: device)), rows, shape: [2, 2, 4], "embedding")
        let bf16Rows = rows.map { Double(HalfPrecision.float(bf16: HalfPrecision.bf16Bits(Float($0)))) }
        expectClose(table.cast(to: .bf16).embedding(Tensor(ids, shape: [4], device: device)), bf16Rows, shape: [4, 4],
                    atol: 0, rtol: 0, "bf16 embedding")
    }

    @Test("rmsNorm over the last axis", arguments: TestDevices.all)
    func rmsNorm(device: Device) {
        for shape in [[2, 3, 8], [1, 1], [5, 33]] {
            let x = sample(shape, seed: 91, low: -3, high: 3, device: device)
            let w = sample([shape.last!], seed: 92, low: 0.5, high: 1.5, device: device)
            expectClose(x.rmsNorm(weight: w, eps: 1e-6), Naive.rmsNorm(x.doubles, weight: w.doubles, eps: 1e-6), shape: shape,
                        atol: 1e-6, rtol: 1e-5, "rmsNorm \(shape)")
        }
        // A transposed view is normalised along its own last axis.
        let m = sample([4, 3], seed: 93, device: device), w = sample([4], seed: 94, device: device)
        expectClose(m.transposed().rmsNorm(weight: w, eps: 1e-5),
                    Naive.rmsNorm(Naive.transpose(m.doubles, rows: 4, cols: 3), weight: w.doubles, eps: 1e-5), shape: [3, 4],
                    atol: 1e-6, rtol: 1e-5, "rmsNorm of a view")
    }

    @Test("rotary embedding, rotate-half, at several thetas and large positions", arguments: TestDevices.all, [Float(10_000), 1_000_000])
    func rotary(device: Device, theta: Float) {
        let (batch, tokens, heads, dim) = (2, 3, 2, 8)
        let x = sample([batch, tokens, heads, dim], seed: 101, device: device)
        let positions: [Int32] = [0, 1, 2, 4093, 4094, 131_000]
        let y = x.rotaryEmbedding(positions: Tensor(positions, shape: [batch, tokens], device: device), theta: theta)
        expectClose(y, Naive.rope(x.doubles, positions: positions, tokens: batch * tokens, heads: heads, dim: dim, theta: Double(theta)),
                    shape: x.shape, atol: 2e-6, rtol: 1e-5, "rope theta=\(theta)")
    }

    @Test("swiglu is silu(gate) * up", arguments: TestDevices.all)
    func swiglu(device: Device) {
        let gate = sample([3, 17], seed: 111, low: -6, high: 6, device: device), up = sample([3, 17], seed: 112, device: device)
        let want = zip(gate.doubles, up.doubles).map { Naive.silu($0) * $1 }
        expectClose(Tensor.swiglu(gate: gate, up: up), want, shape: [3, 17], atol: 1e-6, rtol: 1e-5, "swiglu")
    }

    struct AttentionCase: Sendable, CustomTestStringConvertible {
        var batch = 2, queryLength = 4, keyLength = 4, queryHeads = 4, kvHeads = 2, dim = 8, queryOffset = 0
        var keyMask: [Int32]? = nil
        var name: String
        var testDescription: String { name }
    }

    static let attentionCases: [AttentionCase] = [
        AttentionCase(name: "causal GQA prefill"),
        AttentionCase(queryHeads: 3, kvHeads: 3, name: "multi-head, no grouping"),
        AttentionCase(queryHeads: 6, kvHeads: 1, name: "multi-query"),
        // Left padding: row 1's first two keys are padding, so its queries 0 and 1 see no key.
        AttentionCase(keyMask: [1, 1, 1, 1, 0, 0, 1, 1], name: "left-padded key mask"),
        // KV-cache decode: one new query at position 5 over 6 cached keys.
        AttentionCase(queryLength: 1, keyLength: 6, queryOffset: 5, keyMask: [1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1], name: "decode step"),
        // Chunked prefill: 3 queries at positions 2..4 over 5 keys.
        AttentionCase(queryLength: 3, keyLength: 5, queryOffset: 2, name: "query offset 2"),
        AttentionCase(batch: 1, queryLength: 1, keyLength: 1, queryHeads: 1, kvHeads: 1, dim: 2, name: "all size 1"),
        AttentionCase(batch: 1, queryLength: 130, keyLength: 130, queryHeads: 2, kvHeads: 1, dim: 4, name: "more queries than one block"),
        // Large enough for the heads to be split across the worker pool.
        AttentionCase(batch: 2, queryLength: 64, keyLength: 64, queryHeads: 4, kvHeads: 2, dim: 32, name: "heads split across threads"),
    ]

    @Test("attention matches a naive causal, masked, grouped reference", arguments: TestDevices.all, attentionCases)
    func attention(device: Device, c: AttentionCase) {
        let q = sample([c.batch, c.queryLength, c.queryHeads, c.dim], seed: 121, low: -2, high: 2, device: device)
        let k = sample([c.batch, c.keyLength, c.kvHeads, c.dim], seed: 122, low: -2, high: 2, device: device)
        let v = sample([c.batch, c.keyLength, c.kvHeads, c.dim], seed: 123, device: device)
        let mask = c.keyMask.map { Tensor($0, shape: [c.batch, c.keyLength], device: device) }
        let out = Tensor.attention(query: q, key: k, value: v, keyMask: mask, queryOffset: c.queryOffset)
        let want = Naive.attention(q: q.doubles, k: k.doubles, v: v.doubles, batch: c.batch, queryLength: c.queryLength,
                                   keyLength: c.keyLength, queryHeads: c.queryHeads, kvHeads: c.kvHeads, dim: c.dim,
                                   queryOffset: c.queryOffset, keyMask: c.keyMask, scale: 1 / Double(c.dim).squareRoot())
        expectClose(out, want, shape: q.shape, atol: 2e-6, rtol: 1e-5, c.name)
    }

    @Test("attention reads a KV cache slice in place and honours a custom scale", arguments: TestDevices.all)
    func attentionOnCacheViews(device: Device) {
        // Cache [batch 2, capacity 8, kvHeads 1, dim 4]; the first 5 positions are filled.
        let cacheK = sample([2, 8, 1, 4], seed: 131, device: device), cacheV = sample([2, 8, 1, 4], seed: 132, device: device)
        let k = cacheK.sliced(axis: 1, 0..<5), v = cacheV.sliced(axis: 1, 0..<5)
        let q = sample([2, 2, 2, 4], seed: 133, device: device)
        let out = Tensor.attention(query: q, key: k, value: v, queryOffset: 3, scale: 0.3)
        let want = Naive.attention(q: q.doubles, k: k.contiguous().doubles, v: v.contiguous().doubles, batch: 2, queryLength: 2,
                                   keyLength: 5, queryHeads: 2, kvHeads: 1, dim: 4, queryOffset: 3, keyMask: nil, scale: 0.3)
        expectClose(out, want, shape: [2, 2, 2, 4], atol: 2e-6, rtol: 1e-5, "cache views")
        // Queries as a permuted view ([batch, heads, tokens, dim] storage) are copied, not misread.
        let qHeadsFirst = Tensor(q.toFloatArray(), shape: [2, 2, 2, 4], device: device).permuted([0, 2, 1, 3]).contiguous().permuted([0, 2, 1, 3])
        expectClose(Tensor.attention(query: qHeadsFirst, key: k, value: v, queryOffset: 3, scale: 0.3), want, shape: [2, 2, 2, 4],
                    atol: 2e-6, rtol: 1e-5, "permuted queries")
    }
}
