import CRLKernels

extension CPUBackend {
    public func gemm(_ d: GemmDescriptor) {
        let ap = d.a.f32, cp = d.c.f32
        // Up to this many rows, a product with a `[n, k]` weight goes to the few-row kernels,
        // which stream each weight row once for all rows (`rl_small_m_max_rows`).
        let rowLimit = rl_small_m_max_rows(d.k)
        let fewRows = d.m <= rowLimit && d.transposeB && !d.transposeA
        if d.bType == .bf16 {
            precondition(d.transposeB && !d.transposeA && d.batchCount == 1, "bf16 GEMM supports x * W^T only")
            let wp = d.b.bytes(.bf16).assumingMemoryBound(to: UInt16.self)
            splitColumns(d.n, rows: d.m, k: d.k) { j0, j1 in
                // Few-row kernel on row blocks.
                var i0 = 0
                while i0 < d.m {
                    let rows = min(rowLimit, d.m - i0)
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
        CPUBackend.useSingleThreadedBLAS()
        if d.m == 1 && d.batchCount == 1 && !d.transposeB {
            // y = B^T x with B [k, n] row-major, columns split across threads.
            splitColumns(d.n, rows: 1, k: d.k) { j0, j1 in
                rl_blas_sgemv(1, Int32(d.k), Int32(j1 - j0), d.alpha, bp + j0, Int32(d.ldb),
                            ap, Int32(d.transposeA ? d.lda : 1), d.beta, cp + j0, 1)
            }
            return
        }
        if d.batchCount > 1 {
            Parallel.ranges(d.batchCount, grain: max(1, CPUBackend.blasGrain / max(d.m * d.n * d.k, 1))) { b0, b1 in
                for batch in b0..<b1 {
                    sgemm(d, rows: 0..<d.m, columns: 0..<d.n, a: ap + batch * d.strideA, b: bp + batch * d.strideB, c: cp + batch * d.strideC)
                }
            }
            return
        }
        // One product: the longer of the output's dimensions is split across threads, in
        // multiples of 16 so every part keeps OpenBLAS's full-width kernels.
        let work = d.m * d.n * d.k
        let parts = work < CPUBackend.blasGrain ? 1 : Parallel.threadCount
        let splitRows = d.m > d.n
        let length = splitRows ? d.m : d.n
        let units = (length + 15) / 16
        Parallel.ranges(units, grain: max(1, units / parts)) { u0, u1 in
            let range = (u0 * 16)..<min(length, u1 * 16)
            if splitRows {
                sgemm(d, rows: range, columns: 0..<d.n, a: ap, b: bp, c: cp)
            } else {
                sgemm(d, rows: 0..<d.m, columns: range, a: ap, b: bp, c: cp)
            }
        }
    }

    /// Products below this many multiply-adds run on one thread (OpenBLAS's own threshold).
    static let blasGrain = 1 << 18

    /// OpenBLAS runs single-threaded inside the library: products are split across the
    /// library's own worker pool instead, so two thread pools never compete for the cores
    /// (OpenBLAS's idle workers spin for about 0.1 s after each call). Set before every product,
    /// as the setting is process-wide.
    static func useSingleThreadedBLAS() {
        rl_blas_set_num_threads(1)
    }

    /// `cblas_sgemm` on the block `rows x columns` of `C = alpha op(A) op(B) + beta C`.
    private func sgemm(_ d: GemmDescriptor, rows: Range<Int>, columns: Range<Int>,
                       a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>) {
        let aBlock = a + (d.transposeA ? rows.lowerBound : rows.lowerBound * d.lda)
        let bBlock = b + (d.transposeB ? columns.lowerBound * d.ldb : columns.lowerBound)
        rl_blas_sgemm(d.transposeA ? 1 : 0, d.transposeB ? 1 : 0,
                    Int32(rows.count), Int32(columns.count), Int32(d.k), d.alpha,
                    aBlock, Int32(d.lda), bBlock, Int32(d.ldb), d.beta,
                    c + rows.lowerBound * d.ldc + columns.lowerBound, Int32(d.ldc))
    }

    /// Splits output columns across threads for memory-bound products.
    private func splitColumns(_ n: Int, rows: Int, k: Int, _ body: (Int, Int) -> Void) {
        Parallel.ranges(n, grain: max(16, 32_768 / max(k * max(rows, 1), 1))) { body($0, $1) }
    }
}
