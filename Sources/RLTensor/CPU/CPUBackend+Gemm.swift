import CRLKernels

extension CPUBackend {
    public func gemm(_ d: GemmDescriptor) {
        let ap = d.a.f32, cp = d.c.f32
        // Up to this many rows, a product with a `[n, k]` weight goes to the few-row kernels,
        // which stream each weight row once for all rows (`rl_small_m_max_rows`).
        let rowLimit = rl_small_m_max_rows(d.k)
        let fewRows = d.m <= rowLimit && d.transposeB && !d.transposeA
        if d.bType == .bf16 && !fewRows {
            bf16PanelGemm(d)
            return
        }
        if d.bType == .bf16 {
            precondition(d.batchCount == 1, "bf16 GEMM is not batched")
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
    /// (OpenBLAS's idle workers spin for about 0.1 s after each call). Checked before every
    /// product, as the setting is process-wide; `ComputeOptions.setsOpenBLASThreads` false leaves
    /// it alone.
    static func useSingleThreadedBLAS() {
        if ComputeOptions.setsOpenBLASThreads && rl_blas_get_num_threads() != 1 { rl_blas_set_num_threads(1) }
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

    /// A bf16 right operand with many rows of A (a training forward) or not transposed (the
    /// input gradient of a frozen bf16 weight): panels of `bf16PanelWidth` output columns are
    /// widened to f32 and multiplied by OpenBLAS, so at most one small f32 panel per thread
    /// exists at a time, never an f32 copy of the matrix.
    private func bf16PanelGemm(_ d: GemmDescriptor) {
        precondition(!d.transposeA && d.batchCount == 1, "bf16 GEMM: A must be packed and unbatched")
        let ap = d.a.f32, cp = d.c.f32
        let wp = d.b.bytes(.bf16).assumingMemoryBound(to: UInt16.self)
        let width = CPUBackend.bf16PanelWidth
        let panels = (d.n + width - 1) / width
        CPUBackend.useSingleThreadedBLAS()
        Parallel.ranges(panels, grain: 1) { p0, p1 in
            let panel = UnsafeMutablePointer<Float>.allocate(capacity: width * d.k)
            defer { panel.deallocate() }
            for p in p0..<p1 {
                let j0 = p * width, columns = min(width, d.n - j0)
                if d.transposeB {
                    // W is [n, k]: output columns j0..< are whole rows of W.
                    for j in 0..<columns { rl_bf16_to_f32(wp + (j0 + j) * d.ldb, panel + j * d.k, d.k) }
                    rl_blas_sgemm(0, 1, Int32(d.m), Int32(columns), Int32(d.k), d.alpha, ap, Int32(d.lda),
                                  panel, Int32(d.k), d.beta, cp + j0, Int32(d.ldc))
                } else {
                    // W is [k, n]: output columns j0..< are a column strip of W.
                    for i in 0..<d.k { rl_bf16_to_f32(wp + i * d.ldb + j0, panel + i * columns, columns) }
                    rl_blas_sgemm(0, 0, Int32(d.m), Int32(columns), Int32(d.k), d.alpha, ap, Int32(d.lda),
                                  panel, Int32(columns), d.beta, cp + j0, Int32(d.ldc))
                }
            }
        }
    }

    /// Output columns per widened panel of a bf16 matrix (a 256 x 8960 panel is 9 MiB of f32).
    static let bf16PanelWidth = 256

    /// Splits output columns across threads for memory-bound products.
    private func splitColumns(_ n: Int, rows: Int, k: Int, _ body: (Int, Int) -> Void) {
        Parallel.ranges(n, grain: max(16, 32_768 / max(k * max(rows, 1), 1))) { body($0, $1) }
    }
}
