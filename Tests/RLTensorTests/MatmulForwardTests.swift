import RLTensor
import Testing

/// Matrix products against a naive triple loop: plain, batched, transposed views, the few-row
/// kernel (1 and 6 rows), the blocked path (17 rows), bf16 weights, and empty products.
@Suite("Matmul forward")
struct MatmulForwardTests {
    @Test("2-D products, including size-1 and transposed views", arguments: TestDevices.all)
    func plain(device: Device) {
        for (m, k, n) in [(3, 5, 4), (1, 1, 1), (1, 7, 3), (4, 1, 6), (33, 19, 9)] {
            let a = sample([m, k], seed: UInt64(m * 100 + k), device: device)
            let b = sample([k, n], seed: UInt64(k * 100 + n), device: device)
            let want = Naive.matmul(a.doubles, b.doubles, m: m, k: k, n: n)
            expectClose(a.matmul(b), want, shape: [m, n], "\(m)x\(k)x\(n)")
            // Transposed views go to GEMM without a copy; the result must not change.
            let aT = Tensor(a.toFloatArray(), shape: [m, k], device: device).transposed().contiguous().transposed()
            let bT = Tensor(b.toFloatArray(), shape: [k, n], device: device).transposed().contiguous().transposed()
            expectClose(aT.matmul(bT), want, shape: [m, n], "transposed views \(m)x\(k)x\(n)")
            expectClose(aT.matmul(b), want, shape: [m, n], "transposed lhs \(m)x\(k)x\(n)")
        }
    }

    @Test("batched products, batch folded into rows, and batched transposed views", arguments: TestDevices.all)
    func batched(device: Device) {
        let a = sample([2, 3, 4, 5], seed: 1, device: device), b = sample([2, 3, 5, 2], seed: 2, device: device)
        let av = a.doubles, bv = b.doubles
        var want: [Double] = []
        for batch in 0..<6 {
            want += Naive.matmul(Array(av[(batch * 20)..<(batch * 20 + 20)]), Array(bv[(batch * 10)..<(batch * 10 + 10)]), m: 4, k: 5, n: 2)
        }
        expectClose(a.matmul(b), want, shape: [2, 3, 4, 2], "batched")
        // Attention-style: K^T as a transposed view of a [.., n, k] tensor.
        let bStored = Tensor(b.toFloatArray(), shape: [2, 3, 5, 2], device: device).transposed().contiguous()  // [2,3,2,5]
        expectClose(a.matmul(bStored.transposed()), want, shape: [2, 3, 4, 2], "batched transposed rhs")
        // A permuted (non-packed) batch layout is copied, not misread.
        let aPermuted = Tensor(a.toFloatArray(), shape: [2, 3, 4, 5], device: device).permuted([1, 0, 2, 3]).contiguous().permuted([1, 0, 2, 3])
        expectClose(aPermuted.matmul(b), want, shape: [2, 3, 4, 2], "permuted batch axes")
        // A 2-D right operand shared by every batch entry.
        let w = sample([5, 3], seed: 3, device: device)
        var shared: [Double] = []
        for batch in 0..<6 { shared += Naive.matmul(Array(av[(batch * 20)..<(batch * 20 + 20)]), w.doubles, m: 4, k: 5, n: 3) }
        expectClose(a.matmul(w), shared, shape: [2, 3, 4, 3], "batched x 2-D")
    }

    /// Products above OpenBLAS's threading threshold are split across the worker pool: by rows
    /// when the output is taller than wide, by columns otherwise, by batch for batched products,
    /// and by columns for the one-row `sgemv` path. Every part must land in its own place.
    @Test("products split across threads: by rows, by columns, by batch, one-row sgemv", arguments: TestDevices.all)
    func splitProducts(device: Device) {
        for (m, k, n) in [(70, 64, 60), (40, 100, 70), (1, 512, 600)] {
            let a = sample([m, k], seed: UInt64(m * 7 + n), device: device)
            let b = sample([k, n], seed: UInt64(k * 5 + n), device: device)
            let want = Naive.matmul(a.doubles, b.doubles, m: m, k: k, n: n)
            expectClose(a.matmul(b), want, shape: [m, n], atol: 1e-5, rtol: 1e-5, "\(m)x\(k)x\(n)")
            let aT = Tensor(a.toFloatArray(), shape: [m, k], device: device).transposed().contiguous().transposed()
            let bT = Tensor(b.toFloatArray(), shape: [k, n], device: device).transposed().contiguous().transposed()
            expectClose(aT.matmul(bT), want, shape: [m, n], atol: 1e-5, rtol: 1e-5, "transposed views \(m)x\(k)x\(n)")
        }
        let (batch, m, k, n) = (8, 40, 40, 40)
        let a = sample([batch, m, k], seed: 901, device: device), b = sample([batch, k, n], seed: 902, device: device)
        let av = a.doubles, bv = b.doubles
        var want: [Double] = []
        for i in 0..<batch {
            want += Naive.matmul(Array(av[(i * m * k)..<((i + 1) * m * k)]), Array(bv[(i * k * n)..<((i + 1) * k * n)]), m: m, k: k, n: n)
        }
        expectClose(a.matmul(b), want, shape: [batch, m, n], atol: 1e-5, rtol: 1e-5, "batched \(batch)x\(m)x\(k)x\(n)")
    }

    /// 1, 6 and 12 rows (two row groups) take the few-row kernel, 17 rows BLAS (f32) or two
    /// few-row blocks (bf16); k = 37 leaves a
    /// tail after the 8-wide vector loop.
    @Test("linear layers with HF [out, in] weights and bias", arguments: TestDevices.all, [1, 6, 12, 17])
    func linear(device: Device, rows: Int) {
        for (k, n) in [(37, 29), (64, 40), (8, 1)] {
            let x = sample([rows, k], seed: UInt64(rows * 7 + k), device: device)
            let w = sample([n, k], seed: UInt64(n * 13 + k), device: device)
            let bias = sample([n], seed: UInt64(n), device: device)
            let product = Naive.matmul(x.doubles, Naive.transpose(w.doubles, rows: n, cols: k), m: rows, k: k, n: n)
            expectClose(x.linear(w), product, shape: [rows, n], atol: 2e-6, rtol: 2e-6, "linear \(rows)x\(k)x\(n)")
            let bv = bias.doubles
            expectClose(x.linear(w, bias: bias), product.enumerated().map { $0.element + bv[$0.offset % n] }, shape: [rows, n],
                        atol: 2e-6, rtol: 2e-6, "linear with bias")
            // A batched input folds into rows.
            let x3 = x.reshaped([1, rows, k])
            expectClose(x3.linear(w), product, shape: [1, rows, n], atol: 2e-6, rtol: 2e-6, "batched linear")
            // bf16 weights: the product of the bf16-rounded weights (and x where the kernels round it).
            let wBF16 = w.cast(to: .bf16)
            let want = bf16Reference(x, w, rows: rows, k: k, n: n, device: device)
            expectClose(x.linear(wBF16), want, shape: [rows, n], atol: 2e-6, rtol: 2e-6, "bf16 linear \(rows)x\(k)x\(n)")
        }
    }

    /// Every row count the few-row kernels handle, and one more (up to 16 rows, or 32 with
    /// AVX-512 and k >= 1024; tiles take 1-6 rows and 1 or 4 weight rows at a time), with short
    /// (k <= 4096) and long input rows, which choose different CPU
    /// kernels, odd and even k, and k and n tails after the vector loops (32 bf16 pairs for the
    /// AVX512_BF16 kernels). `make test` runs this once more with `RL_NO_AVX512=1` to cover the
    /// AVX2 kernels on AVX-512 machines, and with `RL_NO_AVX512_BF16=1` for the widening kernels
    /// on machines with AVX512_BF16.
    @Test("few-row products at every row count, short and long rows, f32 and bf16 weights",
          arguments: TestDevices.all, [21, 40, 63, 4099, 4100])
    func fewRowKernels(device: Device, k: Int) {
        let n = 11
        let w = sample([n, k], seed: UInt64(k), device: device)
        let wBF16 = w.cast(to: .bf16)
        for rows in 1...33 {
            let x = sample([rows, k], seed: UInt64(rows * 31 + k), device: device)
            let tolerance = 2e-6 * Float(k).squareRoot()
            let want = Naive.matmul(x.doubles, Naive.transpose(w.doubles, rows: n, cols: k), m: rows, k: k, n: n)
            expectClose(x.linear(w), want, shape: [rows, n], atol: tolerance, rtol: 2e-6, "f32 \(rows)x\(k)x\(n)")
            let product = x.linear(wBF16)
            let wantBF16 = bf16Reference(x, w, rows: rows, k: k, n: n, device: device)
            expectClose(product, wantBF16, shape: [rows, n], atol: tolerance, rtol: 2e-6, "bf16 \(rows)x\(k)x\(n)")
            expectWithinBF16Rounding(product, x, w, rows: rows, k: k, n: n, "bf16 \(rows)x\(k)x\(n)")
        }
    }

    /// One input row (decoding) against weight matrices of many row counts: the one-row kernels
    /// read the rows a thread takes as four parts at once, one row from each per pass, and the
    /// rows after the last whole pass; every output must land at its own row.
    @Test("one input row against every split of the weight rows into four parts and a rest",
          arguments: TestDevices.all, [48, 600])
    func oneRowParts(device: Device, k: Int) {
        let x = sample([1, k], seed: UInt64(k), device: device)
        for n in [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 37, 64, 131] {
            let w = sample([n, k], seed: UInt64(n * 7 + k), device: device)
            let tolerance = 2e-6 * Float(k).squareRoot()
            let want = Naive.matmul(x.doubles, Naive.transpose(w.doubles, rows: n, cols: k), m: 1, k: k, n: n)
            expectClose(x.linear(w), want, shape: [1, n], atol: tolerance, rtol: 2e-6, "f32 1x\(k)x\(n)")
            let wantBF16 = bf16Reference(x, w, rows: 1, k: k, n: n, device: device)
            expectClose(x.linear(w.cast(to: .bf16)), wantBF16, shape: [1, n], atol: tolerance, rtol: 2e-6, "bf16 1x\(k)x\(n)")
        }
    }

    /// More rows than the few-row kernels take: the AMX tiles where the CPU has them (blocks of
    /// 32 weight rows and 32 input rows, k in steps of 32, tails in all three), otherwise
    /// widened panels and OpenBLAS; 1100 rows take two packed chunks of A.
    @Test("bf16 weights with many rows, tails in every dimension", arguments: TestDevices.all)
    func bf16ManyRows(device: Device) {
        for (rows, k, n) in [(33, 32, 32), (64, 64, 64), (40, 37, 33), (100, 96, 70), (35, 1030, 17), (1100, 64, 40)] {
            let x = sample([rows, k], seed: UInt64(rows * 7 + k), device: device)
            let w = sample([n, k], seed: UInt64(n * 13 + k), device: device)
            let product = x.linear(w.cast(to: .bf16))
            let tolerance = 2e-6 * Float(k).squareRoot()
            expectClose(product, bf16Reference(x, w, rows: rows, k: k, n: n, device: device), shape: [rows, n],
                        atol: tolerance, rtol: 2e-6, "bf16 \(rows)x\(k)x\(n)")
            expectWithinBF16Rounding(product, x, w, rows: rows, k: k, n: n, "bf16 \(rows)x\(k)x\(n)")
        }
    }

    /// x · w^T with w rounded to bf16, and x too where this device's kernels round it
    /// (`CPUBackend.bf16WeightProductRoundsA`), summed in double.
    func bf16Reference(_ x: Tensor, _ w: Tensor, rows: Int, k: Int, n: Int, device: Device) -> [Double] {
        func rounded(_ t: Tensor) -> [Double] { t.toFloatArray().map { Double(HalfPrecision.float(bf16: HalfPrecision.bf16Bits($0))) } }
        let roundsX = device == .cpu && CPUBackend.bf16WeightProductRoundsA(rows: rows)
        return Naive.matmul(roundsX ? rounded(x) : x.doubles, Naive.transpose(rounded(w), rows: n, cols: k), m: rows, k: k, n: n)
    }

    /// Any bf16-weight product is within the rounding of x and w to bf16 of the f32 product:
    /// each term is off by at most 2^-8 relative (two roundings of 2^-9), so the sum by at most
    /// 2^-8 sum |x w|, plus f32 summation error.
    func expectWithinBF16Rounding(_ product: Tensor, _ x: Tensor, _ w: Tensor, rows: Int, k: Int, n: Int, _ what: String,
                                  sourceLocation: SourceLocation = #_sourceLocation) {
        let got = product.toFloatArray(), xv = x.doubles, wv = w.doubles
        for i in 0..<rows {
            for j in 0..<n {
                var exact = 0.0, magnitude = 0.0
                for t in 0..<k {
                    exact += xv[i * k + t] * wv[j * k + t]
                    magnitude += abs(xv[i * k + t] * wv[j * k + t])
                }
                let bound = magnitude / 256 + 2e-6 * Double(k).squareRoot()
                if abs(Double(got[i * n + j]) - exact) > bound {
                    Issue.record("\(what) [\(i), \(j)]: \(got[i * n + j]), f32 product \(exact), bound \(bound)", sourceLocation: sourceLocation)
                    return
                }
            }
        }
    }

    @Test("empty products give zeros of the right shape", arguments: TestDevices.all)
    func empty(device: Device) {
        let zeroInner = Tensor.zeros([3, 0], device: device).matmul(Tensor.zeros([0, 4], device: device))
        expectClose(zeroInner, [Double](repeating: 0, count: 12), shape: [3, 4], "k = 0")
        let fewRowsZeroInner = Tensor.zeros([2, 0], device: device).linear(Tensor.zeros([5, 0], device: device))
        expectClose(fewRowsZeroInner, [Double](repeating: 0, count: 10), shape: [2, 5], "linear with k = 0")
        #expect(Tensor.zeros([0, 5], device: device).matmul(sample([5, 4], seed: 1, device: device)).shape == [0, 4])
        #expect(sample([2, 5], seed: 1, device: device).linear(Tensor.zeros([0, 5], device: device)).shape == [2, 0])
    }
}
