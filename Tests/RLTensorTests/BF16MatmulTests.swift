import RLTensor
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Products with a frozen bf16 weight beyond the few-row kernels, a training forward (many rows)
/// and the input gradient (the weight not transposed), go to the AMX tiles where the CPU has
/// them, else to the AVX512_BF16 GEMM where it has `vdpbf16ps` (both round the other operand to
/// bf16), otherwise through widened f32 panels. `make test` reruns this suite with `RL_NO_AMX=1`
/// (the AVX512_BF16 GEMM on a CPU with tiles) and `RL_NO_AVX512_BF16=1` (widened).
@Suite("bf16 weight products")
struct BF16MatmulTests {
    @Test("many rows and the input gradient equal the f32 product of the rounded weight", arguments: [(300, 70, 530), (33, 257, 9), (40, 1030, 20)])
    func manyRowsAndBackward(_ m: Int, _ k: Int, _ n: Int) throws {
        let x = Tensor.randomNormal([m, k], seed: 1)
        let w16 = Tensor.randomNormal([n, k], seed: 2).cast(to: .bf16)
        let w32 = w16.cast(to: .f32)
        let upstream = Tensor.randomNormal([m, n], seed: 3)
        // The f32 references multiply what the bf16 kernels multiply: x, and the upstream
        // gradient times the weight, rounded too where the kernels round them.
        func rounded(_ t: Tensor, _ rounds: Bool) -> Tensor { rounds ? t.cast(to: .bf16).cast(to: .f32) : t }
        let xRef = rounded(x, CPUBackend.bf16WeightProductRoundsA(rows: m))
        let upstreamRef = rounded(upstream, CPUBackend.bf16WeightProductRoundsA(rows: m, weightTransposed: false))
        let (y16, g16) = valueAndGrad(at: [x]) { (x.linear(w16) * upstream).sum() }
        let y32 = (xRef.linear(w32) * upstream).sum()
        let (_, g32) = valueAndGrad(at: [x]) { (x.linear(w32) * upstreamRef).sum() }
        #expect(abs(y16.item() - y32.item()) <= 1e-3 * max(1, abs(y32.item())))
        let a = g16[0].toFloatArray(), b = g32[0].toFloatArray()
        #expect(zip(a, b).map { abs($0 - $1) }.max()! <= 1e-4)
        let forward16 = x.linear(w16).toFloatArray(), forward32 = xRef.linear(w32).toFloatArray()
        #expect(zip(forward16, forward32).map { abs($0 - $1) }.max()! <= 1e-4)
    }

    @Test("an input gradient through a vocabulary-sized weight packs it in slices (LM head)")
    func vocabularySizedInputGradient() throws {
        // 70,000 outputs: the packed slice of the weight is capped at 64 MiB, so its 600 columns
        // go in two slices.
        let (m, k, n) = (8, 600, 70_000)
        let x = Tensor.randomNormal([m, k], seed: 4)
        let w16 = Tensor.randomNormal([n, k], seed: 5).cast(to: .bf16)
        let upstream = Tensor.randomNormal([m, n], seed: 6)
        let upstreamRef = CPUBackend.bf16WeightProductRoundsA(rows: m, weightTransposed: false)
            ? upstream.cast(to: .bf16).cast(to: .f32) : upstream
        let (_, g16) = valueAndGrad(at: [x]) { (x.linear(w16) * upstream).sum() }
        let (_, g32) = valueAndGrad(at: [x]) { (x.linear(w16.cast(to: .f32)) * upstreamRef).sum() }
        let a = g16[0].toFloatArray(), b = g32[0].toFloatArray()
        let scale = b.map { abs($0) }.max()!
        #expect(zip(a, b).map { abs($0 - $1) }.max()! <= 1e-5 * scale, "scale \(scale)")
    }

    @Test("four or more rows take the tiles, else the AVX512_BF16 GEMM, else widened weights, as the CPU and the environment allow")
    func kernelChoice() {
        let isa = CPUBackend.shared.blas.kernels
        let expected: CPUBackend.BF16WeightKernel = isa.contains("AMX-BF16") ? .amxTiles
            : isa.contains("AVX512_BF16 GEMM") ? .dotProducts : .widened
        for rows in [4, 5, 70, 1100] {
            for transposed in [true, false] {
                #expect(CPUBackend.bf16WeightKernel(rows: rows, weightTransposed: transposed) == expected,
                        "\(rows) rows, transposed \(transposed), kernels \(isa)")
                #expect(CPUBackend.bf16WeightProductRoundsA(rows: rows, weightTransposed: transposed) == (expected != .widened))
            }
        }
        // The few-row kernel needs packed weight rows and a weight [n, k]; otherwise 1-3 rows are widened.
        for rows in 1...3 {
            #expect(CPUBackend.bf16WeightKernel(rows: rows, weightTransposed: true, packedRows: false) == .widened)
            #expect(CPUBackend.bf16WeightKernel(rows: rows, weightTransposed: false) == .widened)
            #expect(!CPUBackend.bf16WeightProductRoundsA(rows: rows, packedRows: false))
        }
        if getenv("RL_NO_AMX") != nil { #expect(expected != .amxTiles, "RL_NO_AMX=1: \(isa)") }
        if getenv("RL_NO_AVX512_BF16") != nil { #expect(expected == .widened, "RL_NO_AVX512_BF16=1: \(isa)") }
        if getenv("RL_BF16_DOT_GEMM").map({ String(cString: $0) }) == "1" && getenv("RL_NO_AMX") != nil && isa.contains("AVX512_BF16") {
            #expect(expected == .dotProducts, "RL_NO_AMX=1 RL_BF16_DOT_GEMM=1: \(isa)")
        }
    }

    /// `CPUBackend.gemm` with a bf16 matrix, both layouts, against a double-precision product of
    /// what the kernel multiplies (A rounded to bf16 where `bf16WeightProductRoundsA`, the bf16
    /// weights), with alpha, beta and row strides larger than the rows. The tolerance is f32
    /// summation error, far below bf16 rounding: a kernel that did not round A as declared, or
    /// mixed up rows, columns, tails, alpha or beta, fails it. With `RL_NO_AMX=1 RL_BF16_DOT_GEMM=1`
    /// on a CPU with tiles this covers the AVX512_BF16 GEMM (register tiles of 6 rows x 64 columns, k in pairs,
    /// 64-column weight panels), and with AVX512_BF16 only, the same by default.
    @Test("bf16 matrix products of 4-70 rows, k and n tails, both layouts, alpha and beta, against f32 on the rounded inputs",
          arguments: [true, false])
    func manyShapes(weightTransposed: Bool) {
        let backend = CPUBackend.shared
        let shapes = [(1, 1), (31, 17), (33, 65), (64, 16), (95, 130), (600, 47)]
        var seed: UInt64 = weightTransposed ? 100 : 200
        for rows in [4, 5, 6, 7, 12, 13, 33, 70] {
            for (index, (k, n)) in shapes.enumerated() {
                seed += 1
                let (alpha, beta): (Float, Float) = index % 2 == 0 ? (1, 0) : (0.75, -0.5)
                let lda = k + 3, ldb = (weightTransposed ? k : n) + 5, ldc = n + 2
                let a = sample([rows * lda], seed: seed).toFloatArray()
                let wRows = weightTransposed ? n : k
                let w = sample([wRows * ldb], seed: seed + 1000).toFloatArray().map { HalfPrecision.bf16Bits($0) }
                let c0 = sample([rows * ldc], seed: seed + 2000).toFloatArray()
                let roundsA = CPUBackend.bf16WeightProductRoundsA(rows: rows, weightTransposed: weightTransposed)
                func bf16(_ bits: UInt16) -> Double { Double(HalfPrecision.float(bf16: bits)) }
                var want = [Double](repeating: 0, count: rows * ldc), bound = want
                for i in 0..<rows {
                    for j in 0..<n {
                        var sum = 0.0, magnitude = 0.0
                        for t in 0..<k {
                            let x = roundsA ? bf16(HalfPrecision.bf16Bits(a[i * lda + t])) : Double(a[i * lda + t])
                            let term = x * bf16(weightTransposed ? w[j * ldb + t] : w[t * ldb + j])
                            sum += term
                            magnitude += abs(term)
                        }
                        want[i * ldc + j] = Double(alpha) * sum + Double(beta) * Double(c0[i * ldc + j])
                        bound[i * ldc + j] = 1e-6 * (magnitude + abs(Double(c0[i * ldc + j]))) * Double(k).squareRoot() + 1e-6
                    }
                }
                let (aBuffer, wBuffer, cBuffer) = (uploaded(a, to: backend), uploaded(w, to: backend), uploaded(c0, to: backend))
                var d = GemmDescriptor(m: rows, n: n, k: k, a: BufferRef(aBuffer), lda: lda, b: BufferRef(wBuffer), ldb: ldb,
                                       c: BufferRef(cBuffer), ldc: ldc)
                d.transposeB = weightTransposed
                d.bType = .bf16
                d.alpha = alpha
                d.beta = beta
                backend.gemm(d)
                var got = [Float](repeating: 0, count: c0.count)
                got.withUnsafeMutableBytes { backend.download(cBuffer, byteOffset: 0, into: $0) }
                let what = "\(rows)x\(k)x\(n) transposed \(weightTransposed) alpha \(alpha) beta \(beta)"
                var failed = false
                for i in 0..<rows where !failed {
                    for j in 0..<ldc where !failed {
                        // Columns past n (the row stride's gap) must keep their values.
                        let expected = j < n ? want[i * ldc + j] : Double(c0[i * ldc + j])
                        let tolerance = j < n ? bound[i * ldc + j] : 0
                        if abs(Double(got[i * ldc + j]) - expected) > tolerance {
                            Issue.record("\(what) [\(i), \(j)]: \(got[i * ldc + j]), want \(expected) +- \(tolerance)")
                            failed = true
                        }
                    }
                }
            }
        }
    }

    @Test("a frozen f32 weight gets no gradient product; a tracked one does")
    func frozenWeight() {
        let x = Tensor.randomNormal([4, 3], seed: 1), w = Tensor.randomNormal([5, 3], seed: 2)
        let (_, onlyX) = valueAndGrad(at: [x]) { x.linear(w).sum() }
        let (_, both) = valueAndGrad(at: [x, w]) { x.linear(w).sum() }
        #expect(onlyX[0].toFloatArray() == both[0].toFloatArray())
        // d/dw sum(x w^T) = column sums of x, for every output row.
        let xs = x.toFloatArray()
        let columnSums = (0..<3).map { j in (0..<4).reduce(Float(0)) { $0 + xs[$1 * 3 + j] } }
        #expect(zip(both[1].toFloatArray(), (0..<5).flatMap { _ in columnSums }).allSatisfy { abs($0 - $1) < 1e-5 })
    }
}
