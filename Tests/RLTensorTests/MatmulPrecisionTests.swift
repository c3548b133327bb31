import RLTensor
import Testing

/// `MatmulPrecision.bfloat16`: products of two f32 matrices rounded to bf16 on the AMX tiles where
/// the CPU has them (`make test` reruns this suite with `RL_NO_AMX=1`, where they stay f32).
@Suite("bf16 precision for f32 products")
struct MatmulPrecisionTests {
    private static let layouts = [(false, false), (false, true), (true, false), (true, true)]

    /// `CPUBackend.gemm` on f32 matrices in every layout, with row strides larger than the rows,
    /// alpha and beta, and chunks of the default size and of the smallest (32 rows or columns, and
    /// inner slices of about 40, so every loop over chunks and slices runs; the smallest also
    /// stream the transposed rounding past the caches): on tiles against a double-precision product of the
    /// bf16-rounded operands, within f32 summation error (far below bf16 rounding: a path that did
    /// not round, or mixed up rows, columns, tails, chunks, alpha or beta, fails); without tiles,
    /// bit-identical to the f32 product.
    @Test("f32 products at bf16 precision: four layouts, tails, strides, chunks, alpha and beta", arguments: layouts)
    func layoutsAndShapes(transposeA: Bool, transposeB: Bool) {
        let backend = CPUBackend.shared
        var seed: UInt64 = transposeA ? (transposeB ? 10 : 20) : (transposeB ? 30 : 40)
        for (index, (m, n, k)) in [(32, 32, 32), (45, 70, 33), (97, 40, 130), (33, 129, 64), (70, 33, 100)].enumerated() {
            seed += 100
            let (alpha, beta): (Float, Float) = index % 2 == 0 ? (1, 0) : (0.75, -0.5)
            let lda = (transposeA ? m : k) + 3, ldb = (transposeB ? k : n) + 5, ldc = n + 2
            let a = sample([(transposeA ? k : m) * lda], seed: seed).toFloatArray()
            let b = sample([(transposeB ? n : k) * ldb], seed: seed + 1).toFloatArray()
            let c0 = sample([m * ldc], seed: seed + 2).toFloatArray()
            func rounded(_ x: Float) -> Double { Double(HalfPrecision.float(bf16: HalfPrecision.bf16Bits(x))) }
            func run(_ precision: MatmulPrecision, chunkBytes: Int?) -> [Float] {
                let (aBuffer, bBuffer, cBuffer) = (uploaded(a, to: backend), uploaded(b, to: backend), uploaded(c0, to: backend))
                var d = GemmDescriptor(m: m, n: n, k: k, a: BufferRef(aBuffer), lda: lda, b: BufferRef(bBuffer), ldb: ldb,
                                       c: BufferRef(cBuffer), ldc: ldc)
                d.transposeA = transposeA
                d.transposeB = transposeB
                d.alpha = alpha
                d.beta = beta
                d.precision = precision
                if let chunkBytes {
                    backend.roundedTileGemm(d, packedChunkBytes: chunkBytes, roundedChunkBytes: chunkBytes, kSlice: 40,
                                            streamedSideBytes: 0)
                } else {
                    backend.gemm(d)
                }
                var got = [Float](repeating: 0, count: c0.count)
                got.withUnsafeMutableBytes { backend.download(cBuffer, byteOffset: 0, into: $0) }
                return got
            }
            let what = "\(m)x\(n)x\(k) transposeA \(transposeA) transposeB \(transposeB) alpha \(alpha) beta \(beta)"
            guard MatmulPrecision.bfloat16IsAvailable(on: .cpu) else {
                #expect(run(.bfloat16, chunkBytes: nil) == run(.float32, chunkBytes: nil), "no tiles: \(what)")
                continue
            }
            for chunkBytes in [nil, 1] {
                let got = run(.bfloat16, chunkBytes: chunkBytes)
                var failed = false
                for i in 0..<m where !failed {
                    for j in 0..<ldc where !failed {
                        var sum = 0.0, magnitude = 0.0
                        for t in 0..<k where j < n {
                            let term = rounded(transposeA ? a[t * lda + i] : a[i * lda + t])
                                * rounded(transposeB ? b[j * ldb + t] : b[t * ldb + j])
                            sum += term
                            magnitude += abs(term)
                        }
                        // Columns past n (the row stride's gap) must keep their values.
                        let old = Double(c0[i * ldc + j])
                        let want = j < n ? Double(alpha) * sum + Double(beta) * old : old
                        let tolerance = j < n ? 1e-6 * (magnitude + abs(old)) * Double(k).squareRoot() + 1e-6 : 0
                        if abs(Double(got[i * ldc + j]) - want) > tolerance {
                            Issue.record("\(what), chunks \(chunkBytes.map(String.init) ?? "default") [\(i), \(j)]: \(got[i * ldc + j]), want \(want) +- \(tolerance)")
                            failed = true
                        }
                    }
                }
            }
        }
    }

    /// A linear layer's forward, input gradient and weight gradient under the scope: on tiles they
    /// are the f32 products of the bf16-rounded operands (and not the f32 ones); without tiles,
    /// outside the scope and below 32 rows, bit-identical to f32.
    @Test("withValue scopes the precision to a linear layer's forward and both gradients")
    func scopedLinearLayer() {
        let x = sample([40, 64], seed: 1), w = sample([48, 64], seed: 2), upstream = sample([40, 48], seed: 3)
        func loss(_ x: Tensor, _ w: Tensor, _ upstream: Tensor) -> Tensor { (x.linear(w) * upstream).sum() }
        #expect(MatmulPrecision.current == .float32)
        let (y16, g16) = MatmulPrecision.withValue(.bfloat16) { () -> (Tensor, [Tensor]) in
            #expect(MatmulPrecision.current == .bfloat16)
            let forward = x.linear(w)
            let (_, grads) = valueAndGrad(at: [x, w]) { loss(x, w, upstream) }
            return (forward, grads)
        }
        #expect(MatmulPrecision.current == .float32)
        let (_, g32) = valueAndGrad(at: [x, w]) { loss(x, w, upstream) }
        let y32 = x.linear(w)
        // Fewer than 32 rows: f32 at either precision.
        let fewRows = sample([31, 64], seed: 4)
        #expect(MatmulPrecision.withValue(.bfloat16) { fewRows.linear(w) }.toFloatArray() == fewRows.linear(w).toFloatArray())
        guard MatmulPrecision.bfloat16IsAvailable(on: .cpu) else {
            #expect(y16.toFloatArray() == y32.toFloatArray())
            #expect(g16[0].toFloatArray() == g32[0].toFloatArray() && g16[1].toFloatArray() == g32[1].toFloatArray())
            return
        }
        func rounded(_ t: Tensor) -> Tensor { t.cast(to: .bf16).cast(to: .f32) }
        let (xr, wr, ur) = (rounded(x), rounded(w), rounded(upstream))
        let references = [xr.linear(wr), ur.matmul(wr), ur.transposed().matmul(xr)]
        for (name, got, want, f32) in [("forward", y16, references[0], y32), ("input gradient", g16[0], references[1], g32[0]),
                                       ("weight gradient", g16[1], references[2], g32[1])] {
            let difference = zip(got.toFloatArray(), want.toFloatArray()).map { abs($0 - $1) }.max()!
            #expect(difference <= 1e-4, "\(name): \(difference) from the product of the rounded operands")
            #expect(got.toFloatArray() != f32.toFloatArray(), "\(name): equal to the f32 product, so nothing was rounded")
        }
    }
}
