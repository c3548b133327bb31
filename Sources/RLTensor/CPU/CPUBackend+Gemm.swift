import CRLKernels

extension CPUBackend {
    public func gemm(_ d: GemmDescriptor) {
        if d.aType != .f32 || d.cType != .f32 {
            precondition(d.aType == .f32 || d.bType == .bf16, "GEMM: bf16 activations need bf16 weights")
            precondition(d.cType == .f32 || d.aType == .bf16, "GEMM: a bf16 result needs bf16 activations")
            var f = d
            f.aType = .f32
            f.cType = .f32
            let aRows = d.transposeA ? d.k : d.m
            f.a = widenedToF32(d.a, d.aType, count: (d.batchCount - 1) * d.strideA + (aRows - 1) * d.lda + (d.transposeA ? d.m : d.k))
            let cCount = (d.batchCount - 1) * d.strideC + (d.m - 1) * d.ldc + d.n
            return intoF32(d.c, d.cType, count: cCount, keepingContents: d.beta != 0) { c in
                f.c = c
                gemm(f)
            }
        }
        if CPUBackend.roundsF32Product(d) { return roundedTileGemm(d) }
        let ap = d.a.f32, cp = d.c.f32
        // Up to this many rows, a product with a `[n, k]` weight goes to the few-row kernels,
        // which stream each weight row once for all rows (`rl_small_m_max_rows`); they take
        // packed weight rows (row stride k).
        let rowLimit = rl_small_m_max_rows(d.k)
        let fewRows = d.m <= rowLimit && d.transposeB && !d.transposeA && d.ldb == d.k
        if d.bType == .bf16 && !d.transposeA {
            switch CPUBackend.bf16WeightKernel(rows: d.m, weightTransposed: d.transposeB, packedRows: d.ldb == d.k) {
            case .amxTiles:
                if d.transposeB { bf16TileGemm(d) } else { bf16TileGemmWeightNotTransposed(d) }
                return
            case .dotProducts:
                bf16DotGemm(d)
                return
            case .fewRowDotProducts, .widened:
                break
            }
        }
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

    /// The kernels a product of f32 rows with a bf16 matrix can take on the CPU.
    package enum BF16WeightKernel: Sendable, Equatable {
        /// AMX-BF16 tiles (`bf16_amx_gemm.c`), from `bf16TileMinRows` rows.
        case amxTiles
        /// The AVX512_BF16 GEMM (`bf16_dot_gemm.c`), from `bf16TileMinRows` rows without usable
        /// tiles where `rl_bf16_dot_gemm_enabled` (AMD CPUs with `vdpbf16ps`, or RL_BF16_DOT_GEMM=1).
        case dotProducts
        /// The AVX512_BF16 few-row kernel (`small_m_bf16_dot.c`): 1-3 rows, a weight `[n, k]`.
        case fewRowDotProducts
        /// The weights widened to f32: the few-row widening kernels or OpenBLAS on f32 panels.
        case widened
    }

    /// The kernel that multiplies `rows` rows of A by a bf16 matrix, `[n, k]` (`weightTransposed`,
    /// a weight in the forward) or `[k, n]` (the input gradient), on this CPU: AMX tiles when
    /// enabled, else the AVX512_BF16 GEMM where `rl_bf16_dot_gemm_enabled`, else (1-3 rows of a
    /// weight whose rows are packed, row stride k: `packedRows`) the AVX512_BF16 few-row kernel,
    /// else widened weights. RL_NO_AVX512_BF16=1 leaves only the last.
    package static func bf16WeightKernel(rows: Int, weightTransposed: Bool, packedRows: Bool = true) -> BF16WeightKernel {
        if rows >= bf16TileMinRows && rl_bf16_amx_enabled() != 0 { return .amxTiles }
        if rows >= bf16TileMinRows && rl_bf16_dot_gemm_enabled() != 0 { return .dotProducts }
        if weightTransposed && packedRows && rows >= 1 && rows <= rl_bf16_dot_max_rows() { return .fewRowDotProducts }
        return .widened
    }

    /// Whether a product of `rows` rows of A with a bf16 weight rounds A to bf16 on this CPU: every
    /// kernel but the widening ones does (`bf16WeightKernel`).
    package static func bf16WeightProductRoundsA(rows: Int, weightTransposed: Bool = true, packedRows: Bool = true) -> Bool {
        bf16WeightKernel(rows: rows, weightTransposed: weightTransposed, packedRows: packedRows) != .widened
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

    /// A bf16 weight `[n, k]` with many rows of A on AMX tiles (`rl_bf16_amx_enabled`): A is
    /// rounded to bf16 and packed in chunks of `bf16TileChunk` rows, then the output columns are
    /// split across threads in blocks of 32 weight rows. Like the AVX512_BF16 few-row kernel,
    /// the product is of bf16-rounded A and the weights, summed in f32.
    private func bf16TileGemm(_ d: GemmDescriptor) {
        precondition(d.batchCount == 1, "bf16 GEMM is not batched")
        let ap = d.a.f32, cp = d.c.f32
        let wp = d.b.bytes(.bf16).assumingMemoryBound(to: UInt16.self)
        let kp = rl_amx_bf16_padded_k(d.k)
        let chunk = CPUBackend.bf16TileChunk(paddedK: kp)
        let packed = UnsafeMutablePointer<UInt16>.allocate(capacity: (min(chunk, d.m) + 31) / 32 * 32 * kp)
        defer { packed.deallocate() }
        for r0 in stride(from: 0, to: d.m, by: chunk) {
            let rows = min(chunk, d.m - r0)
            Parallel.ranges((rows + 31) / 32 * 2, grain: 2) { b0, b1 in
                rl_amx_bf16_pack_rows(ap + r0 * d.lda, d.lda, rows, d.k, packed, b0, b1)
            }
            Parallel.ranges((d.n + 31) / 32, grain: 1) { u0, u1 in
                rl_amx_gemm_bf16(packed, rows, wp, d.ldb, d.k, u0 * 32, min(d.n, u1 * 32), 1, cp + r0 * d.ldc, d.ldc,
                                 d.alpha, d.beta)
            }
        }
    }

    /// A bf16 matrix `[k, n]` not transposed (the input gradient of a frozen bf16 weight) with
    /// many rows of A on AMX tiles: A is rounded to bf16 once (a temporary half the size of A),
    /// the matrix packed in chunks of `bf16TileChunk` columns, and the rows of A split across
    /// threads in blocks of 32.
    private func bf16TileGemmWeightNotTransposed(_ d: GemmDescriptor) {
        precondition(d.batchCount == 1, "bf16 GEMM is not batched")
        let ap = d.a.f32, cp = d.c.f32
        let wp = d.b.bytes(.bf16).assumingMemoryBound(to: UInt16.self)
        let kp = rl_amx_bf16_padded_k(d.k)
        let chunk = CPUBackend.bf16TileChunk(paddedK: kp)
        let rounded = UnsafeMutablePointer<UInt16>.allocate(capacity: d.m * kp)
        defer { rounded.deallocate() }
        Parallel.ranges(d.m, grain: 16) { i0, i1 in
            for i in i0..<i1 {
                rl_f32_to_bf16(ap + i * d.lda, rounded + i * kp, d.k)
                (rounded + i * kp + d.k).initialize(repeating: 0, count: kp - d.k)
            }
        }
        let packed = UnsafeMutablePointer<UInt16>.allocate(capacity: (min(chunk, d.n) + 31) / 32 * 32 * kp)
        defer { packed.deallocate() }
        for c0 in stride(from: 0, to: d.n, by: chunk) {
            let columns = min(chunk, d.n - c0)
            Parallel.ranges((columns + 31) / 32 * 2, grain: 2) { b0, b1 in
                rl_amx_bf16_pack_columns(wp + c0, d.ldb, d.k, columns, packed, b0, b1)
            }
            Parallel.ranges((d.m + 31) / 32, grain: 1) { u0, u1 in
                rl_amx_gemm_bf16(packed, columns, rounded, kp, kp, u0 * 32, min(d.m, u1 * 32), 0, cp + c0, d.ldc,
                                 d.alpha, d.beta)
            }
        }
    }

    /// A bf16 matrix, `[n, k]` or `[k, n]`, with many rows of A on AVX512_BF16 without AMX
    /// (`rl_bf16_gemm`): A is rounded to bf16 in chunks of `bf16TileChunk` rows (a temporary half
    /// the size of the chunk), then the output columns are split across threads in blocks of the
    /// kernel's 64-column tile, or the rows in blocks of its 6-row tile when there are fewer
    /// column blocks than row blocks; each thread packs the weights it reads.
    private func bf16DotGemm(_ d: GemmDescriptor) {
        precondition(d.batchCount == 1, "bf16 GEMM is not batched")
        let ap = d.a.f32, cp = d.c.f32
        let wp = d.b.bytes(.bf16).assumingMemoryBound(to: UInt16.self)
        let kp = rl_bf16_gemm_padded_k(d.k)
        let chunk = CPUBackend.bf16TileChunk(paddedK: max(kp, 32))
        let rounded = UnsafeMutablePointer<UInt16>.allocate(capacity: max(1, min(chunk, d.m) * kp))
        defer { rounded.deallocate() }
        let transposed: Int32 = d.transposeB ? 1 : 0
        let tileRows = Int(RL_BF16_GEMM_TILE_ROWS), tileColumns = Int(RL_BF16_GEMM_TILE_COLUMNS)
        for r0 in stride(from: 0, to: d.m, by: chunk) {
            let rows = min(chunk, d.m - r0)
            Parallel.ranges(rows, grain: 16) { i0, i1 in
                rl_bf16_gemm_round_rows(ap + r0 * d.lda, d.lda, d.k, rounded, kp, i0, i1)
            }
            let y = cp + r0 * d.ldc
            let columnBlocks = (d.n + tileColumns - 1) / tileColumns, rowBlocks = (rows + tileRows - 1) / tileRows
            // Products below OpenBLAS's threshold run on one thread.
            let parts = rows * d.n * max(d.k, 1) < CPUBackend.blasGrain ? 1 : Parallel.threadCount
            if columnBlocks >= rowBlocks || columnBlocks >= 4 * parts {
                Parallel.ranges(columnBlocks, grain: max(1, columnBlocks / parts)) { u0, u1 in
                    rl_bf16_gemm(rounded, kp, 0, rows, wp, d.ldb, transposed, d.k, u0 * tileColumns,
                                 min(d.n, u1 * tileColumns), y, d.ldc, d.alpha, d.beta)
                }
            } else {
                Parallel.ranges(rowBlocks, grain: max(1, rowBlocks / parts)) { u0, u1 in
                    rl_bf16_gemm(rounded, kp, u0 * tileRows, min(rows, u1 * tileRows), wp, d.ldb, transposed, d.k,
                                 0, d.n, y, d.ldc, d.alpha, d.beta)
                }
            }
        }
    }

    /// From this many rows of A, bf16-weight products go to the AMX tiles, or without them to the
    /// AVX512_BF16 GEMM (fewer rows take the AVX512_BF16 few-row kernel, `rl_bf16_dot_max_rows`):
    /// two threads multiply x [4, 1536] by w [8960, 1536] bf16 in 0.91 ms on the tiles, 1.14 ms
    /// with the widening kernels; 8 rows in 0.90 and 2.19 ms (small_m_bf16_dot.c has the table).
    static let bf16TileMinRows = 4

    /// Rows of A (or columns of a `[k, n]` matrix) packed at a time for the AMX tiles: 1024
    /// (1024 x 8960 bf16 is 18 MiB), fewer when that would pack more than 64 MiB (the LM head's
    /// input gradient has k = the vocabulary: 1024 x 151936 would be 297 MiB), at least 32.
    static func bf16TileChunk(paddedK: Int) -> Int {
        min(1024, max(32, (64 << 20) / (paddedK * 2) / 32 * 32))
    }

    /// Output columns per widened panel of a bf16 matrix (a 256 x 8960 panel is 9 MiB of f32).
    static let bf16PanelWidth = 256

    /// Splits output columns across threads for memory-bound products.
    private func splitColumns(_ n: Int, rows: Int, k: Int, _ body: (Int, Int) -> Void) {
        Parallel.ranges(n, grain: max(16, 32_768 / max(k * max(rows, 1), 1))) { body($0, $1) }
    }
}
