extension DType {
    /// The code of an activation or weight type in the kernels that take one (0 f32, 1 bf16).
    var activationCode: Int32 {
        precondition(self == .f32 || self == .bf16, "CUDA kernels take f32 or bf16 activations, got \(self)")
        return self == .bf16 ? 1 : 0
    }

    /// The dtype code the CUDA kernels use (0 f32, 1 bf16, 2 f16, 3 i32, 4 i64).
    var cudaCode: Int32 {
        switch self {
        case .f32: return 0
        case .bf16: return 1
        case .f16: return 2
        case .i32: return 3
        case .i64: return 4
        }
    }
}

extension CUDABackend {
    /// The `RLStrides` struct of `rl_common.cuh` for up to four operands after collapsing axes.
    static func stridesArgument(shape: [Int], strides: [[Int]]) -> Argument {
        let (cs, st) = StridedLoops.collapse(shape: shape, strides: strides)
        precondition(cs.count <= 8, "CUDA strided kernels support 8 dimensions after collapsing, got \(cs.count)")
        var words = [Int64](repeating: 0, count: 1 + 8 + 4 * 8)
        words[0] = Int64(cs.count)
        for d in 0..<cs.count {
            words[1 + d] = Int64(cs[d])
            for o in 0..<st.count { words[9 + o * 8 + d] = Int64(st[o][d]) }
        }
        return .int64s(words)
    }

    // MARK: data movement

    public func copy(dtype: DType, shape: [Int], from source: StridedRef, to destination: StridedRef) {
        let total = shape.reduce(1, *)
        guard total > 0 else { return }
        let contiguous = Tensor.contiguousStrides(shape)
        let (cs, st) = StridedLoops.collapse(shape: shape, strides: [source.strides, destination.strides])
        if cs.count == 1 && st[0][0] == 1 && st[1][0] == 1 || (source.strides == contiguous && destination.strides == contiguous) {
            copyBytes(from: source.cudaAddress(dtype), to: destination.cudaAddress(dtype), count: total * dtype.byteSize)
            return
        }
        let kernel = dtype.byteSize == 2 ? "rl_copy_b16" : (dtype.byteSize == 4 ? "rl_copy_b32" : "rl_copy_b64")
        launch(kernel, grid: (blocks(total), 1, 1), block: 256, [
            .ptr(source.cudaAddress(dtype)), .ptr(destination.cudaAddress(dtype)),
            CUDABackend.stridesArgument(shape: shape, strides: [source.strides, destination.strides]), .int(total),
        ])
    }

    public func fill(_ destination: BufferRef, count: Int, dtype: DType, value: Double) {
        guard count > 0 else { return }
        let bits: UInt64
        switch dtype {
        case .f32: bits = UInt64(Float(value).bitPattern)
        case .bf16: bits = UInt64(HalfPrecision.bf16Bits(Float(value)))
        case .f16: bits = UInt64(HalfPrecision.f16Bits(Float(value)))
        case .i32: bits = UInt64(UInt32(bitPattern: Int32(value)))
        case .i64: bits = UInt64(bitPattern: Int64(value))
        }
        if bits == 0 {
            zero(destination.cudaAddress(dtype), bytes: count * dtype.byteSize)
            return
        }
        let kernel = dtype.byteSize == 2 ? "rl_fill_b16" : (dtype.byteSize == 4 ? "rl_fill_b32" : "rl_fill_b64")
        launch(kernel, grid: (blocks(count), 1, 1), block: 256, [.ptr(destination.cudaAddress(dtype)), .value(bits), .int(count)])
    }

    public func cast(_ source: BufferRef, from: DType, to destination: BufferRef, as target: DType, count: Int) {
        guard count > 0 else { return }
        if from == target {
            copyBytes(from: source.cudaAddress(from), to: destination.cudaAddress(target), count: count * from.byteSize)
            return
        }
        launch("rl_cast", grid: (blocks(count), 1, 1), block: 256, [
            .ptr(source.cudaAddress(from)), .i32(from.cudaCode), .ptr(destination.cudaAddress(target)), .i32(target.cudaCode), .int(count),
        ])
    }

    public func randomFill(_ destination: BufferRef, count: Int, distribution: RandomDistribution, seed: UInt64, counterOffset: UInt64) {
        guard count > 0 else { return }
        let (code, a, b): (Int32, Float, Float)
        switch distribution {
        case .uniform(let low, let high): (code, a, b) = (0, low, high)
        case .normal(let mean, let std): (code, a, b) = (1, mean, std)
        }
        launch("rl_random_fill", grid: (blocks(count), 1, 1), block: 256, [
            .ptr(destination.cudaAddress()), .int(count), .i32(code), .f32(a), .f32(b), .value(seed), .value(counterOffset),
        ])
    }

    // MARK: elementwise and reductions

    public func unary(_ op: UnaryOp, _ x: BufferRef, _ y: BufferRef, count: Int) {
        guard count > 0 else { return }
        let (code, p0, p1): (Int32, Float, Float)
        switch op {
        case .neg: (code, p0, p1) = (0, 0, 0)
        case .exp: (code, p0, p1) = (1, 0, 0)
        case .log: (code, p0, p1) = (2, 0, 0)
        case .sqrt: (code, p0, p1) = (3, 0, 0)
        case .rsqrt: (code, p0, p1) = (4, 0, 0)
        case .sigmoid: (code, p0, p1) = (5, 0, 0)
        case .silu: (code, p0, p1) = (6, 0, 0)
        case .abs: (code, p0, p1) = (7, 0, 0)
        case .square: (code, p0, p1) = (8, 0, 0)
        case .addScalar(let s): (code, p0, p1) = (9, s, 0)
        case .mulScalar(let s): (code, p0, p1) = (10, s, 0)
        case .powScalar(let s): (code, p0, p1) = (11, s, 0)
        case .rsubScalar(let s): (code, p0, p1) = (12, s, 0)
        case .rdivScalar(let s): (code, p0, p1) = (13, s, 0)
        case .clamp(let lo, let hi): (code, p0, p1) = (14, lo, hi)
        case .tanh: (code, p0, p1) = (15, 0, 0)
        case .reciprocal: (code, p0, p1) = (16, 0, 0)
        }
        launch("rl_unary", grid: (blocks(count), 1, 1), block: 256, [
            .i32(code), .ptr(x.cudaAddress()), .ptr(y.cudaAddress()), .int(count), .f32(p0), .f32(p1),
        ])
    }

    public func binary(_ op: BinaryOp, _ a: StridedRef, _ b: StridedRef, _ out: BufferRef, shape: [Int], dtype: DType) {
        let total = shape.reduce(1, *)
        guard total > 0 else { return }
        let contiguous = Tensor.contiguousStrides(shape)
        if a.strides == contiguous && b.strides == contiguous {
            launch("rl_binary_contiguous", grid: (blocks(total), 1, 1), block: 256, [
                .i32(op.rawValue), .ptr(a.cudaAddress(dtype)), .ptr(b.cudaAddress(dtype)), .ptr(out.cudaAddress(dtype)), .int(total),
                .i32(dtype.activationCode),
            ])
            return
        }
        launch("rl_binary", grid: (blocks(total), 1, 1), block: 256, [
            .i32(op.rawValue), .ptr(a.cudaAddress(dtype)), .ptr(b.cudaAddress(dtype)), .ptr(out.cudaAddress(dtype)),
            CUDABackend.stridesArgument(shape: shape, strides: [a.strides, b.strides, contiguous]), .int(total), .i32(dtype.activationCode),
        ])
    }

    public func select(_ condition: StridedRef, _ a: StridedRef, _ b: StridedRef, _ out: BufferRef, shape: [Int]) {
        let total = shape.reduce(1, *)
        guard total > 0 else { return }
        launch("rl_select", grid: (blocks(total), 1, 1), block: 256, [
            .ptr(condition.cudaAddress()), .ptr(a.cudaAddress()), .ptr(b.cudaAddress()), .ptr(out.cudaAddress()),
            CUDABackend.stridesArgument(shape: shape, strides: [condition.strides, a.strides, b.strides, Tensor.contiguousStrides(shape)]),
            .int(total),
        ])
    }

    public func reduce(_ op: ReduceOp, _ x: BufferRef, _ y: BufferRef, outer: Int, axis: Int, inner: Int) {
        guard outer * inner > 0 else { return }
        if axis == 0 {
            fill(y, count: outer * inner, dtype: .f32, value: op == .sum ? 0 : (op == .max ? -Double.infinity : Double.infinity))
            return
        }
        if inner == 1 {
            launch("rl_reduce_rows", grid: (outer, 1, 1), block: CUDABackend.rowThreads(axis), [
                .i32(op.rawValue), .ptr(x.cudaAddress()), .ptr(y.cudaAddress()), .int(axis),
            ])
        } else {
            launch("rl_reduce_columns", grid: (blocks(outer * inner), 1, 1), block: 256, [
                .i32(op.rawValue), .ptr(x.cudaAddress()), .ptr(y.cudaAddress()), .int(outer), .int(axis), .int(inner),
            ])
        }
    }

    public func sumOfSquares(_ x: BufferRef, count: Int) -> Double {
        guard count > 0 else { return 0 }
        let scratch = allocate(byteCount: 8) as! CUDABuffer
        zero(scratch.address, bytes: 8)
        launch("rl_sum_squares", grid: (blocks(count), 1, 1), block: 256, [.ptr(x.cudaAddress()), .int(count), .ptr(scratch.address)])
        var result: Double = 0
        withUnsafeMutableBytes(of: &result) { download(scratch, byteOffset: 0, into: $0) }
        return result
    }

    // MARK: matrix products

    public func gemm(_ d: GemmDescriptor) {
        guard d.m > 0, d.n > 0, d.batchCount > 0 else { return }
        // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
        let opA = d.transposeB ? CUBLAS.opT : CUBLAS.opN
        let opB = d.transposeA ? CUBLAS.opT : CUBLAS.opN
        var alpha = d.alpha, beta = d.beta
        precondition(d.aType == .f32 || (d.aType == .bf16 && d.bType == .bf16), "CUDA GEMM: bf16 activations need bf16 weights")
        precondition(d.cType == .f32 || d.aType == .bf16, "CUDA GEMM: a bf16 result needs bf16 activations")
        attempt {
            _ = driver.cuCtxSetCurrent(context)
            if d.bType == .f32 {
                try blas.check(blas.sgemmStridedBatched(
                    blasHandle, opA, opB, Int32(d.n), Int32(d.m), Int32(d.k), &alpha,
                    d.b.cudaAddress(), Int32(d.ldb), Int64(d.strideB),
                    d.a.cudaAddress(), Int32(d.lda), Int64(d.strideA), &beta,
                    d.c.cudaAddress(), Int32(d.ldc), Int64(d.strideC), Int32(d.batchCount)), "cublasSgemmStridedBatched")
                return
            }
            // Few rows times bf16 weights (decode): a memory-bound kernel reading A as it is (f32
            // or bf16) and writing C of its type.
            if d.bType == .bf16 && d.transposeB && !d.transposeA && d.batchCount == 1 && d.m <= CUDABackend.gemvRowLimit {
                launch("rl_gemv_bf16", grid: (max(1, min((d.n + 7) / 8, multiprocessorCount * 64)), 1, 1), block: 256, [
                    .ptr(d.a.cudaAddress(d.aType)), .i32(d.aType.activationCode), .int(d.lda), .int(d.m),
                    .ptr(d.b.cudaAddress(.bf16)), .int(d.ldb), .int(d.n), .int(d.k),
                    .ptr(d.c.cudaAddress(d.cType)), .i32(d.cType.activationCode), .int(d.ldc), .f32(d.alpha), .f32(d.beta),
                ])
                return
            }
            // bf16 (or f16) weights: A rounded to the same type unless it is bf16 already,
            // multiplied with f32 accumulation into C of its type.
            precondition(d.bType == .bf16 || d.bType == .f16, "CUDA GEMM B operand must be f32, bf16 or f16")
            let type = d.bType == .bf16 ? CUBLAS.r16BF : CUBLAS.r16F
            var aAddress = d.a.cudaAddress(d.aType)
            if d.aType == .f32 {
                let aRows = d.transposeA ? d.k : d.m
                let aExtent = (d.batchCount - 1) * d.strideA + (aRows - 1) * d.lda + (d.transposeA ? d.m : d.k)
                let scratch = allocate(byteCount: aExtent * 2) as! CUDABuffer
                cast(d.a, from: .f32, to: BufferRef(scratch), as: d.bType, count: aExtent)
                aAddress = scratch.address
            }
            let cType = d.cType == .bf16 ? CUBLAS.r16BF : CUBLAS.r32F
            try blas.check(blas.gemmStridedBatchedEx(
                blasHandle, opA, opB, Int32(d.n), Int32(d.m), Int32(d.k), &alpha,
                d.b.cudaAddress(d.bType), type, Int32(d.ldb), Int64(d.strideB),
                aAddress, type, Int32(d.lda), Int64(d.strideA), &beta,
                d.c.cudaAddress(d.cType), cType, Int32(d.ldc), Int64(d.strideC), Int32(d.batchCount),
                CUBLAS.compute32F, CUBLAS.gemmDefault), "cublasGemmStridedBatchedEx(16-bit x 16-bit -> f32 or bf16)")
        }
    }

    /// Rows up to which a bf16-weight product goes to `rl_gemv_bf16` instead of cuBLAS.
    public static let gemvRowLimit = 8

    // MARK: softmax family

    public func softmax(_ x: BufferRef, _ y: BufferRef, rows: Int, cols: Int, log: Bool) {
        guard rows > 0, cols > 0 else { return }
        launch("rl_softmax", grid: (rows, 1, 1), block: CUDABackend.rowThreads(cols), [
            .ptr(x.cudaAddress()), .ptr(y.cudaAddress()), .int(cols), .i32(log ? 1 : 0),
        ])
    }

    public func softmaxBackward(output y: BufferRef, gradOutput dy: BufferRef, gradInput dx: BufferRef, rows: Int, cols: Int, log: Bool) {
        guard rows > 0, cols > 0 else { return }
        launch("rl_softmax_backward", grid: (rows, 1, 1), block: CUDABackend.rowThreads(cols), [
            .ptr(y.cudaAddress()), .ptr(dy.cudaAddress()), .ptr(dx.cudaAddress()), .int(cols), .i32(log ? 1 : 0),
        ])
    }

    public func tokenLogProbs(logits: BufferRef, targets: BufferRef, logProbs: BufferRef, logSumExp: BufferRef, rows: Int, cols: Int, temperature: Float) {
        guard rows > 0, cols > 0 else { return }
        launch("rl_token_logprobs", grid: (rows, 1, 1), block: CUDABackend.rowThreads(cols), [
            .ptr(logits.cudaAddress()), .ptr(targets.cudaAddress(.i32)), .ptr(logProbs.cudaAddress()), .ptr(logSumExp.cudaAddress()),
            .int(cols), .f32(1 / temperature),
        ])
    }

    public func tokenLogProbsBackward(logits: BufferRef, targets: BufferRef, logSumExp: BufferRef, gradLogProbs: BufferRef, gradLogits: BufferRef, rows: Int, cols: Int, temperature: Float) {
        guard rows > 0, cols > 0 else { return }
        launch("rl_token_logprobs_backward", grid: (rows, 1, 1), block: CUDABackend.rowThreads(cols), [
            .ptr(logits.cudaAddress()), .ptr(targets.cudaAddress(.i32)), .ptr(logSumExp.cudaAddress()), .ptr(gradLogProbs.cudaAddress()),
            .ptr(gradLogits.cudaAddress()), .int(cols), .f32(1 / temperature),
        ])
    }

    public func rowEntropy(logits: BufferRef, logSumExp: BufferRef, entropy: BufferRef, rows: Int, cols: Int, temperature: Float) {
        guard rows > 0, cols > 0 else { return }
        launch("rl_row_entropy", grid: (rows, 1, 1), block: CUDABackend.rowThreads(cols), [
            .ptr(logits.cudaAddress()), .ptr(logSumExp.cudaAddress()), .ptr(entropy.cudaAddress()), .int(cols), .f32(1 / temperature),
        ])
    }

    // MARK: indexing

    public func gather(_ x: BufferRef, indices: BufferRef, _ y: BufferRef, rows: Int, cols: Int, k: Int) {
        guard rows * k > 0 else { return }
        launch("rl_gather", grid: (blocks(rows * k), 1, 1), block: 256, [
            .ptr(x.cudaAddress()), .ptr(indices.cudaAddress(.i32)), .ptr(y.cudaAddress()), .int(rows), .int(cols), .int(k),
        ])
    }

    public func gatherBackward(_ dy: BufferRef, indices: BufferRef, _ dx: BufferRef, rows: Int, cols: Int, k: Int) {
        zero(dx.cudaAddress(), bytes: rows * cols * 4)
        guard rows * k > 0 else { return }
        launch("rl_gather_backward", grid: (blocks(rows * k), 1, 1), block: 256, [
            .ptr(dy.cudaAddress()), .ptr(indices.cudaAddress(.i32)), .ptr(dx.cudaAddress()), .int(rows), .int(cols), .int(k),
        ])
    }

    public func embedding(table: BufferRef, tableType: DType, ids: BufferRef, _ y: BufferRef, count: Int, dim: Int, outputType: DType) {
        guard count * dim > 0 else { return }
        launch("rl_embedding", grid: (blocks(count * dim), 1, 1), block: 256, [
            .ptr(table.cudaAddress(tableType)), .i32(tableType.activationCode), .ptr(ids.cudaAddress(.i32)),
            .ptr(y.cudaAddress(outputType)), .i32(outputType.activationCode), .int(count), .int(dim),
        ])
    }

    public func embeddingBackward(_ dy: BufferRef, ids: BufferRef, gradTable: BufferRef, count: Int, dim: Int) {
        guard count * dim > 0 else { return }
        launch("rl_embedding_backward", grid: (blocks(count * dim), 1, 1), block: 256, [
            .ptr(dy.cudaAddress()), .ptr(ids.cudaAddress(.i32)), .ptr(gradTable.cudaAddress()), .int(count), .int(dim),
        ])
    }

    public func scatterRows(_ x: BufferRef, rows: BufferRef, _ y: BufferRef, count: Int, dim: Int, dtype: DType) {
        guard count * dim > 0 else { return }
        launch("rl_scatter_rows", grid: (blocks(count * dim), 1, 1), block: 256, [
            .ptr(x.cudaAddress(dtype)), .ptr(rows.cudaAddress(.i32)), .ptr(y.cudaAddress(dtype)), .int(count), .int(dim),
            .i32(dtype.activationCode),
        ])
    }

    // MARK: fused ops

    public func rmsNorm(_ x: BufferRef, weight: BufferRef, _ y: BufferRef, rstd: BufferRef, rows: Int, cols: Int, eps: Float, dtype: DType) {
        guard rows > 0, cols > 0 else { return }
        launch("rl_rmsnorm", grid: (rows, 1, 1), block: CUDABackend.rowThreads(cols), [
            .ptr(x.cudaAddress(dtype)), .ptr(weight.cudaAddress()), .ptr(y.cudaAddress(dtype)), .ptr(rstd.cudaAddress()), .int(cols), .f32(eps),
            .i32(dtype.activationCode),
        ])
    }

    public func rmsNormBackward(_ dy: BufferRef, x: BufferRef, weight: BufferRef, rstd: BufferRef, gradInput dx: BufferRef, gradWeight: BufferRef, rows: Int, cols: Int) {
        guard rows > 0, cols > 0 else { return }
        launch("rl_rmsnorm_backward_input", grid: (rows, 1, 1), block: CUDABackend.rowThreads(cols), [
            .ptr(dy.cudaAddress()), .ptr(x.cudaAddress()), .ptr(weight.cudaAddress()), .ptr(rstd.cudaAddress()), .ptr(dx.cudaAddress()), .int(cols),
        ])
        let rowsPerBlock = 64
        launch("rl_rmsnorm_backward_weight", grid: ((cols + 255) / 256, (rows + rowsPerBlock - 1) / rowsPerBlock, 1), block: 256, [
            .ptr(dy.cudaAddress()), .ptr(x.cudaAddress()), .ptr(rstd.cudaAddress()), .ptr(gradWeight.cudaAddress()),
            .int(rows), .int(cols), .int(rowsPerBlock),
        ])
    }

    public func rope(_ x: BufferRef, positions: BufferRef, _ y: BufferRef, tokens: Int, heads: Int, headDim: Int, theta: Float, inverse: Bool, dtype: DType) {
        let n = tokens * heads * (headDim / 2)
        guard n > 0 else { return }
        launch("rl_rope", grid: (blocks(n), 1, 1), block: 256, [
            .ptr(x.cudaAddress(dtype)), .ptr(positions.cudaAddress(.i32)), .ptr(y.cudaAddress(dtype)), .int(tokens), .int(heads), .int(headDim),
            .f32(theta), .i32(inverse ? 1 : 0), .i32(dtype.activationCode),
        ])
    }

    public func swiglu(gate: BufferRef, up: BufferRef, _ y: BufferRef, count: Int, dtype: DType) {
        guard count > 0 else { return }
        launch("rl_swiglu", grid: (blocks(count), 1, 1), block: 256, [
            .ptr(gate.cudaAddress(dtype)), .ptr(up.cudaAddress(dtype)), .ptr(y.cudaAddress(dtype)), .int(count), .i32(dtype.activationCode),
        ])
    }

    public func swigluBackward(gate: BufferRef, up: BufferRef, gradOutput: BufferRef, gradGate: BufferRef, gradUp: BufferRef, count: Int) {
        guard count > 0 else { return }
        launch("rl_swiglu_backward", grid: (blocks(count), 1, 1), block: 256, [
            .ptr(gate.cudaAddress()), .ptr(up.cudaAddress()), .ptr(gradOutput.cudaAddress()), .ptr(gradGate.cudaAddress()),
            .ptr(gradUp.cudaAddress()), .int(count),
        ])
    }

    // MARK: attention

    static let attentionWarps = 4, attentionTile = 32

    func attentionArgument(_ d: AttentionDescriptor, hasMask: Bool) -> Argument {
        Argument(bytes: CUDABackend.attentionArgumentBytes(d, hasMask: hasMask))
    }

    /// The `RLAttention` struct of `attention.cu`.
    static func attentionArgumentBytes(_ d: AttentionDescriptor, hasMask: Bool) -> [UInt8] {
        var words: [Int64] = [d.batch, d.queryLength, d.keyLength, d.queryHeads, d.kvHeads, d.headDim, d.queryOffset,
                              d.queryStrides.batch, d.queryStrides.token, d.keyStrides.batch, d.keyStrides.token,
                              d.valueStrides.batch, d.valueStrides.token, d.keyMaskStride, hasMask ? 1 : 0].map { Int64($0) }
        words.append(scaleAndDType(d.scale, d.dtype))
        return words.withUnsafeBytes { Array($0) }
    }

    /// The last word of the attention argument structs: the scale in the low 4 bytes, the dtype
    /// code of the activations in the high 4 (little-endian).
    static func scaleAndDType(_ scale: Float, _ dtype: DType) -> Int64 {
        Int64(bitPattern: UInt64(scale.bitPattern) | UInt64(UInt32(dtype.activationCode)) << 32)
    }

    /// The fewest keys a flash-decoding split reads.
    static let decodeSplitMinimumKeys = 128

    /// Flash-decoding's cut of a decode step's visible keys (`queryLength` 1): `splits` ranges of
    /// `length` keys (a multiple of the tile; none empty), enough for about two blocks per
    /// multiprocessor, each of at least `decodeSplitMinimumKeys`. Nil (the ordinary forward) for
    /// longer queries, for fewer than two such ranges, or when the batch's blocks already fill
    /// the GPU.
    static func decodeSplits(_ d: AttentionDescriptor, multiprocessors: Int) -> (splits: Int, length: Int)? {
        guard d.queryLength == 1 else { return nil }
        let visible = min(d.queryOffset + 1, d.keyLength)
        let group = d.queryHeads / d.kvHeads, w = attentionWarps, t = attentionTile
        let blocks = (group + w - 1) / w * d.kvHeads * d.batch
        let splits = min((2 * multiprocessors + blocks - 1) / blocks, visible / decodeSplitMinimumKeys)
        guard splits >= 2 else { return nil }
        let length = ((visible + splits - 1) / splits + t - 1) / t * t
        return ((visible + length - 1) / length, length)
    }

    public func attention(_ d: AttentionDescriptor, query: BufferRef, key: BufferRef, value: BufferRef, keyMask: BufferRef?, output: BufferRef, logSumExp: BufferRef) {
        precondition(d.headDim <= 256, "CUDA attention supports head dimensions up to 256")
        let type = d.dtype
        guard d.batch > 0, d.queryLength > 0, d.queryHeads > 0 else { return }
        let group = d.queryHeads / d.kvHeads, w = CUDABackend.attentionWarps, t = CUDABackend.attentionTile
        let shared = (2 * t * (d.headDim + 1) + w * d.headDim) * 4
        if let (splits, length) = CUDABackend.decodeSplits(d, multiprocessors: multiprocessorCount) {
            let arg = attentionArgument(d, hasMask: keyMask != nil)
            let partial = allocate(byteCount: d.batch * d.queryHeads * splits * (d.headDim + 2) * 4) as! CUDABuffer
            launch("rl_attention_decode_split", grid: ((group + w - 1) / w, d.kvHeads, d.batch * splits), block: 32 * w, sharedBytes: shared, [
                arg, .ptr(query.cudaAddress(type)), .ptr(key.cudaAddress(type)), .ptr(value.cudaAddress(type)), .ptr(keyMask?.cudaAddress(.i32) ?? 0),
                .ptr(partial.address), .int(splits), .int(length),
            ])
            launch("rl_attention_decode_combine", grid: ((d.batch * d.queryHeads + w - 1) / w, 1, 1), block: 32 * w, [
                arg, .ptr(partial.address), .int(splits), .ptr(output.cudaAddress(type)), .ptr(logSumExp.cudaAddress()),
            ])
            return
        }
        launch("rl_attention_forward", grid: ((d.queryLength * group + w - 1) / w, d.kvHeads, d.batch), block: 32 * w, sharedBytes: shared, [
            attentionArgument(d, hasMask: keyMask != nil), .ptr(query.cudaAddress(type)), .ptr(key.cudaAddress(type)), .ptr(value.cudaAddress(type)),
            .ptr(keyMask?.cudaAddress(.i32) ?? 0), .ptr(output.cudaAddress(type)), .ptr(logSumExp.cudaAddress()),
        ])
    }

    public func attentionBackward(_ d: AttentionDescriptor, query: BufferRef, key: BufferRef, value: BufferRef, keyMask: BufferRef?, output: BufferRef, logSumExp: BufferRef, gradOutput: BufferRef, gradQuery: BufferRef, gradKey: BufferRef, gradValue: BufferRef) {
        precondition(d.headDim <= 256, "CUDA attention supports head dimensions up to 256")
        precondition(d.dtype == .f32, "CUDA attention backward is f32 only")
        let kvCount = d.batch * d.keyLength * d.kvHeads * d.headDim
        guard d.batch > 0, d.queryHeads > 0 else { return }
        if d.queryLength == 0 {
            zero(gradKey.cudaAddress(), bytes: kvCount * 4)
            zero(gradValue.cudaAddress(), bytes: kvCount * 4)
            return
        }
        let group = d.queryHeads / d.kvHeads, w = CUDABackend.attentionWarps, t = CUDABackend.attentionTile
        let rows = d.batch * d.queryLength * d.queryHeads
        let delta = allocate(byteCount: rows * 4) as! CUDABuffer
        let arg = attentionArgument(d, hasMask: keyMask != nil)
        let mask = Argument.ptr(keyMask?.cudaAddress(.i32) ?? 0)
        launch("rl_attention_backward_delta", grid: ((rows + w - 1) / w, 1, 1), block: 32 * w, [
            arg, .ptr(output.cudaAddress()), .ptr(gradOutput.cudaAddress()), .ptr(delta.address),
        ])
        let sharedQ = (2 * t * (d.headDim + 1) + 2 * w * d.headDim) * 4
        launch("rl_attention_backward_dq", grid: ((d.queryLength * group + w - 1) / w, d.kvHeads, d.batch), block: 32 * w, sharedBytes: sharedQ, [
            arg, .ptr(query.cudaAddress()), .ptr(key.cudaAddress()), .ptr(value.cudaAddress()), mask, .ptr(logSumExp.cudaAddress()),
            .ptr(delta.address), .ptr(gradOutput.cudaAddress()), .ptr(gradQuery.cudaAddress()),
        ])
        if d.keyLength > 0 {
            let sharedKV = (2 * t * (d.headDim + 1) + 2 * w * d.headDim + 2 * t) * 4
            launch("rl_attention_backward_dkv", grid: ((d.keyLength + w - 1) / w, d.kvHeads, d.batch), block: 32 * w, sharedBytes: sharedKV, [
                arg, .ptr(query.cudaAddress()), .ptr(key.cudaAddress()), .ptr(value.cudaAddress()), mask, .ptr(logSumExp.cudaAddress()),
                .ptr(delta.address), .ptr(gradOutput.cudaAddress()), .ptr(gradKey.cudaAddress()), .ptr(gradValue.cudaAddress()),
            ])
        }
    }

    // MARK: optimiser

    public func adamW(parameter: BufferRef, gradient: BufferRef, firstMoment: BufferRef, secondMoment: BufferRef, count: Int, step: AdamWStep) {
        guard count > 0 else { return }
        let (bc1, bc2) = CUDABackend.biasCorrections(step)
        launch("rl_adamw", grid: (blocks(count), 1, 1), block: 256, [
            .ptr(parameter.cudaAddress()), .ptr(gradient.cudaAddress()), .ptr(firstMoment.cudaAddress()), .ptr(secondMoment.cudaAddress()),
            .int(count), .f32(step.learningRate), .f32(step.beta1), .f32(step.beta2), .f32(step.epsilon), .f32(step.weightDecay), .f32(bc1), .f32(bc2),
        ])
    }

    static func biasCorrections(_ step: AdamWStep) -> (Float, Float) {
        (1 - Float(libmPow(Double(step.beta1), Double(step.step))), 1 - Float(libmPow(Double(step.beta2), Double(step.step))))
    }
}
