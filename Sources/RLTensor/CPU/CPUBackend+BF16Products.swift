import CRLKernels

extension MatmulPrecision {
    /// Whether ``bfloat16`` makes products on `device` faster (and rounds their operands): on a
    /// CPU whose AMX-BF16 tiles the library may use (`RL_NO_AMX` unset, the OS grants the tile
    /// state); on other CPUs and on CUDA devices products stay f32.
    public static func bfloat16IsAvailable(on device: Device) -> Bool {
        device == .cpu && rl_bf16_amx_enabled() != 0
    }
}

/// Products of two f32 matrices at `MatmulPrecision.bfloat16` on the AMX tiles.
///
/// The tile kernel (`rl_amx_gemm_bf16`) multiplies rows of a bf16 "A side" along k by a "packed
/// side" of 16-column blocks of k pairs. For `C = op(A) op(B)` the rows of op(A) are rounded as
/// the A side (transposed while rounded when A is stored `[k, m]`, as in a weight gradient
/// `dy^T x`) and the columns of op(B) packed, so C is written as it is, whole 32 x 32 blocks
/// straight from the tiles. (Computing a weight gradient as C^T instead, with dy packed and C
/// stored transposed, ran 35-55 % slower in the kernel.)
/// The packed side goes in chunks of at most `packedChunkBytes`, the A side is rounded in chunks
/// of at most `roundedChunkBytes` (once for all packed chunks when it fits in one), and each
/// chunk pair is split across threads along its longer side, in blocks of 32.
extension CPUBackend {
    /// Whether `d` runs on the tiles: an unbatched all-f32 product at bf16 precision, with at
    /// least `MatmulPrecision.bfloat16MinimumDimension` in every dimension, on a CPU with tiles.
    package static func roundsF32Product(_ d: GemmDescriptor) -> Bool {
        let least = MatmulPrecision.bfloat16MinimumDimension
        return d.precision == .bfloat16 && d.aType == .f32 && d.bType == .f32 && d.cType == .f32 && d.batchCount == 1
            && d.m >= least && d.n >= least && d.k >= least && rl_bf16_amx_enabled() != 0
    }

    /// `C = alpha op(A) op(B) + beta C` with both operands rounded to bf16 and f32 sums; requires
    /// `roundsF32Product(d)`. The chunk sizes and the streaming threshold are parameters for the
    /// tests.
    package func roundedTileGemm(_ d: GemmDescriptor, packedChunkBytes: Int = CPUBackend.packedChunkBytes,
                                 roundedChunkBytes: Int = CPUBackend.roundedChunkBytes, kSlice: Int = CPUBackend.tileKSlice,
                                 streamedSideBytes: Int = CPUBackend.streamedSideBytes) {
        // A long inner dimension (the LM head's input gradient sums over the vocabulary) goes in
        // slices, each added to C, so the tiles' operands stay in cache.
        let slices = (d.k + kSlice - 1) / kSlice
        for s in 0..<slices {
            let t0 = s * d.k / slices, t1 = (s + 1) * d.k / slices
            var slice = d
            slice.k = t1 - t0
            if s > 0 { slice.beta = 1 }
            tileProduct(slice, a: d.a.f32 + (d.transposeA ? t0 * d.lda : t0), b: d.b.f32 + (d.transposeB ? t0 : t0 * d.ldb),
                        packedChunkBytes: packedChunkBytes, roundedChunkBytes: roundedChunkBytes, streamedSideBytes: streamedSideBytes)
        }
    }

    /// One slice of `roundedTileGemm`: `d`'s shapes and scalars on the operands at `ap` and `bp`.
    private func tileProduct(_ d: GemmDescriptor, a ap: UnsafeMutablePointer<Float>, b bp: UnsafeMutablePointer<Float>,
                             packedChunkBytes: Int, roundedChunkBytes: Int, streamedSideBytes: Int) {
        let kp = rl_amx_bf16_padded_k(d.k)
        let cp = d.c.f32
        // The A side (rows of op(A) along k) and the packed side (columns of op(B) along k).
        let sideRows = d.m, packedColumns = d.n
        /// Rounds rows r0..<r1 of op(A) into `out` (row stride kp), zeros past k.
        func roundSide(_ r0: Int, _ r1: Int, into out: UnsafeMutablePointer<UInt16>) {
            // Transposing rounds 16 rows at a time: split in multiples of 16.
            Parallel.ranges((r1 - r0 + 15) / 16, grain: 1) { u0, u1 in
                let i0 = u0 * 16, i1 = min(r1 - r0, u1 * 16)
                if d.transposeA {
                    // A [k, m]: column r0 + i of A is row i of the side.
                    rl_amx_bf16_round_transposed(ap + r0, d.lda, d.k, out, kp, i0, i1, streams ? 1 : 0)
                } else {
                    rl_bf16_gemm_round_rows(ap + r0 * d.lda, d.lda, d.k, out, kp, i0, i1)
                }
            }
        }
        /// Packs columns c0..<c0+count of op(B) into `out`.
        func packSide(_ c0: Int, _ count: Int, into out: UnsafeMutablePointer<UInt16>) {
            Parallel.ranges((count + 31) / 32 * 2, grain: 2) { b0, b1 in
                if d.transposeB {
                    // Columns of op(B) = rows of B [n, k].
                    rl_amx_bf16_pack_rows(bp + c0 * d.ldb, d.ldb, count, d.k, out, b0, b1)
                } else {
                    rl_amx_bf16_pack_columns_f32(bp + c0, d.ldb, d.k, count, out, b0, b1)
                }
            }
        }
        let packedChunk = CPUBackend.chunkLength(packedColumns, paddedK: kp, bytes: packedChunkBytes)
        let sideChunk = CPUBackend.chunkLength(sideRows, paddedK: kp, bytes: roundedChunkBytes)
        // A side larger than the caches is written past them (the transposed rounding only).
        let streams = sideChunk * kp * 2 >= streamedSideBytes
        // Pooled buffers: the LM head's packed weight (155 MiB) is not mapped and zeroed afresh per call.
        let packedBuffer = CPUBuffer(byteCount: (packedChunk + 31) / 32 * 32 * kp * 2)
        let sideBuffer = CPUBuffer(byteCount: sideChunk * kp * 2)
        defer { withExtendedLifetime((packedBuffer, sideBuffer)) {} }
        let packed = packedBuffer.pointer.assumingMemoryBound(to: UInt16.self)
        let side = sideBuffer.pointer.assumingMemoryBound(to: UInt16.self)
        let sideIsWhole = sideChunk >= sideRows
        if sideIsWhole { roundSide(0, sideRows, into: side) }
        for c0 in stride(from: 0, to: packedColumns, by: packedChunk) {
            let columns = min(packedChunk, packedColumns - c0)
            packSide(c0, columns, into: packed)
            for r0 in stride(from: 0, to: sideRows, by: sideChunk) {
                let rows = min(sideChunk, sideRows - r0)
                if !sideIsWhole { roundSide(r0, r0 + rows, into: side) }
                // s[p, q] for side rows p and packed columns q, stored at C[p, q].
                let output = cp + r0 * d.ldc + c0
                let rowBlocks = (rows + 31) / 32, columnBlocks = (columns + 31) / 32
                if rowBlocks >= columnBlocks {
                    Parallel.ranges(rowBlocks, grain: 1) { u0, u1 in
                        rl_amx_gemm_bf16(packed, columns, side, kp, kp, u0 * 32, min(rows, u1 * 32), 0, output, d.ldc,
                                         d.alpha, d.beta)
                    }
                } else {
                    Parallel.ranges(columnBlocks, grain: 1) { u0, u1 in
                        let q0 = u0 * 32, q1 = min(columns, u1 * 32)
                        rl_amx_gemm_bf16(packed + q0 * kp, q1 - q0, side, kp, kp, 0, rows, 0, output + q0, d.ldc,
                                         d.alpha, d.beta)
                    }
                }
            }
        }
    }

    /// Bytes of one chunk of the packed side: 256 MiB (the LM head of a 151,936-token vocabulary
    /// at hidden size 512 packs in one).
    package static let packedChunkBytes = 256 << 20
    /// Bytes of one chunk of the rounded A side: 64 MiB.
    package static let roundedChunkBytes = 64 << 20
    /// A rounded side chunk of at least this many bytes (8 MiB: more than two cores' L2) is
    /// written with streamed stores when rounded transposed.
    package static let streamedSideBytes = 8 << 20
    /// The longest inner dimension multiplied at once; longer ones go in about equal slices, each
    /// added into C, so a tile pair's 32 rows of both operands (128 KiB at this length) stay in
    /// L2 while the kernel walks the slice. (Slices of 1,024 to 4,096 timed alike for the LM
    /// head's input gradient on 2 Xeon cores, within the machine's noise.)
    package static let tileKSlice = 2048

    /// Rows of `paddedK` bf16 in one chunk of at most `bytes`, a multiple of 32 (at least 32),
    /// and at most `length` rounded up to 32.
    private static func chunkLength(_ length: Int, paddedK: Int, bytes: Int) -> Int {
        min((length + 31) / 32 * 32, max(32, bytes / (paddedK * 2) / 32 * 32))
    }
}
