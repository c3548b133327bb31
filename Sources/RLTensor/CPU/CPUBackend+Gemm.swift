import COpenBLAS
import CRLKernels

extension CPUBackend {
    /// Rows at or below which a product with a `[n, k]` weight is memory-bound and goes to the
    /// few-row kernel, which streams each weight row once for all rows.
    static let smallRowLimit = 16

    public func gemm(_ d: GemmDescriptor) {
        let ap = d.a.f32, cp = d.c.f32
        let fewRows = d.m <= CPUBackend.smallRowLimit && d.transposeB && !d.transposeA
        if d.bType == .bf16 {
            precondition(d.transposeB && !d.transposeA && d.batchCount == 1, "bf16 GEMM supports x * W^T only")
            let wp = d.b.bytes(.bf16).assumingMemoryBound(to: UInt16.self)
            splitColumns(d.n, rows: d.m, k: d.k) { j0, j1 in
                // Few-row kernel on row blocks of up to 16.
                var i0 = 0
                while i0 < d.m {
                    let rows = min(CPUBackend.smallRowLimit, d.m - i0)
                    rl_small_m_gemm_bf16(ap + i0 * d.lda, d.lda, rows, wp, d.k, j0, j1, cp + i0 * d.ldc, d.ldc, d.alpha, d.beta)
                    i0 += rows
                }
            }
            return
        }
        let bp = d.b.f32
        if fewRows && d.batchCount == 1 {
            splitColumns(d.n, rows: d.m, k: d.k) { j0, j1 in
                rl_small_m_gemm_f32(ap, d.lda, d.m, bp, d.k, j0, j1, cp, d.ldc, d.alpha, d.beta)
            }
            return
        }
        if d.m == 1 && d.batchCount == 1 && !d.transposeB {
            // y = B^T x with B [k, n] row-major.
            cblas_sgemv(CblasRowMajor, CblasTrans, Int32(d.k), Int32(d.n), d.alpha, bp, Int32(d.ldb),
                        ap, Int32(d.transposeA ? d.lda : 1), d.beta, cp, 1)
            return
        }
        for batch in 0..<d.batchCount {
            cblas_sgemm(CblasRowMajor, d.transposeA ? CblasTrans : CblasNoTrans, d.transposeB ? CblasTrans : CblasNoTrans,
                        Int32(d.m), Int32(d.n), Int32(d.k), d.alpha,
                        ap + batch * d.strideA, Int32(d.lda), bp + batch * d.strideB, Int32(d.ldb), d.beta,
                        cp + batch * d.strideC, Int32(d.ldc))
        }
    }

    /// Splits output columns across threads for memory-bound products.
    private func splitColumns(_ n: Int, rows: Int, k: Int, _ body: (Int, Int) -> Void) {
        Parallel.ranges(n, grain: max(16, 32_768 / max(k * max(rows, 1), 1))) { body($0, $1) }
    }
}
