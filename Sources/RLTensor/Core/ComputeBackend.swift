/// Memory owned by a backend. Generic code never reads it directly: it goes through the
/// backend's `upload`/`download` and kernels.
public protocol DeviceBuffer: AnyObject, Sendable {
    /// Size in bytes.
    var byteCount: Int { get }
}

/// A contiguous run of elements in a buffer, starting `offset` elements in.
public struct BufferRef: @unchecked Sendable {
    public let buffer: any DeviceBuffer
    public let offset: Int

    public init(_ buffer: any DeviceBuffer, offset: Int = 0) {
        self.buffer = buffer
        self.offset = offset
    }
}

/// A strided view of a buffer: element (i0, i1, ...) lives at `offset + sum(ik * strides[k])`.
public struct StridedRef: @unchecked Sendable {
    public let buffer: any DeviceBuffer
    public let offset: Int
    public let strides: [Int]

    public init(_ buffer: any DeviceBuffer, offset: Int, strides: [Int]) {
        self.buffer = buffer
        self.offset = offset
        self.strides = strides
    }
}

/// Elementwise functions of one input (with an optional scalar parameter).
public enum UnaryOp: Sendable, Equatable {
    case neg, exp, log, sqrt, rsqrt, sigmoid, silu, abs, square, tanh, reciprocal
    case addScalar(Float), mulScalar(Float), powScalar(Float)
    /// `s - x`
    case rsubScalar(Float)
    /// `s / x`
    case rdivScalar(Float)
    case clamp(min: Float, max: Float)
}

/// Elementwise functions of two inputs. Comparisons give 1 or 0.
public enum BinaryOp: Int32, Sendable {
    case add = 0, sub, mul, div, maximum, minimum, equal, greater, less, pow
}

/// Reductions over one axis.
public enum ReduceOp: Int32, Sendable {
    case sum = 0, max, min
}

/// A distribution for seeded random fills.
public enum RandomDistribution: Sendable, Equatable {
    case uniform(low: Float, high: Float)
    case normal(mean: Float, std: Float)
}

/// `C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b]` for `b < batchCount`, row-major.
/// `A` is f32, or bf16 activations (`aType`) with bf16 weights; `B` is f32 or bf16 (weights);
/// `C` is f32, or bf16 (`cType`) when `A` is; products accumulate in f32. Leading dimensions
/// are in elements.
public struct GemmDescriptor: @unchecked Sendable {
    public var transposeA = false
    public var transposeB = false
    public var m: Int, n: Int, k: Int
    public var alpha: Float = 1
    public var beta: Float = 0
    public var a: BufferRef, lda: Int, strideA: Int = 0, aType: DType = .f32
    public var b: BufferRef, ldb: Int, strideB: Int = 0, bType: DType = .f32
    public var c: BufferRef, ldc: Int, strideC: Int = 0, cType: DType = .f32
    public var batchCount = 1
    /// The precision an all-f32 product may run at (`MatmulPrecision`; default f32). Backends
    /// without a faster bf16 path, and products of other types, ignore it.
    public var precision = MatmulPrecision.float32

    public init(m: Int, n: Int, k: Int, a: BufferRef, lda: Int, b: BufferRef, ldb: Int, c: BufferRef, ldc: Int) {
        self.m = m; self.n = n; self.k = k
        self.a = a; self.lda = lda; self.b = b; self.ldb = ldb; self.c = c; self.ldc = ldc
    }
}

/// Shapes and layout of causal grouped-query attention.
///
/// Queries are `[batch, queryLength, queryHeads, headDim]`, keys and values
/// `[batch, keyLength, kvHeads, headDim]`, each with its own batch and token strides (in
/// elements; heads and dims are packed) so a preallocated KV cache can be read in place. Query `i`
/// sits at absolute position `queryOffset + i` and sees key `j` iff `j <= queryOffset + i` and the
/// key mask (`[batch, keyLength]` i32, row stride `keyMaskStride`, nonzero = real token) allows it.
/// The output is contiguous `[batch, queryLength, queryHeads, headDim]`. Queries, keys, values and
/// the output are of `dtype`: f32, or bf16 activations (forward only) computed in f32.
public struct AttentionDescriptor: Sendable, Equatable {
    public var batch: Int
    public var queryLength: Int
    public var keyLength: Int
    public var queryHeads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var queryOffset: Int
    public var scale: Float
    public var queryStrides: (batch: Int, token: Int)
    public var keyStrides: (batch: Int, token: Int)
    public var valueStrides: (batch: Int, token: Int)
    public var keyMaskStride: Int
    /// The element type of queries, keys, values and output (f32 or bf16); the logsumexp is f32.
    public var dtype: DType = .f32

    public init(batch: Int, queryLength: Int, keyLength: Int, queryHeads: Int, kvHeads: Int, headDim: Int, queryOffset: Int,
                scale: Float, queryStrides: (batch: Int, token: Int), keyStrides: (batch: Int, token: Int),
                valueStrides: (batch: Int, token: Int), keyMaskStride: Int) {
        self.batch = batch; self.queryLength = queryLength; self.keyLength = keyLength
        self.queryHeads = queryHeads; self.kvHeads = kvHeads; self.headDim = headDim; self.queryOffset = queryOffset
        self.scale = scale; self.queryStrides = queryStrides; self.keyStrides = keyStrides
        self.valueStrides = valueStrides; self.keyMaskStride = keyMaskStride
    }

    public static func == (l: Self, r: Self) -> Bool {
        l.batch == r.batch && l.queryLength == r.queryLength && l.keyLength == r.keyLength
            && l.queryHeads == r.queryHeads && l.kvHeads == r.kvHeads && l.headDim == r.headDim
            && l.queryOffset == r.queryOffset && l.scale == r.scale && l.queryStrides == r.queryStrides
            && l.keyStrides == r.keyStrides && l.valueStrides == r.valueStrides
            && l.keyMaskStride == r.keyMaskStride && l.dtype == r.dtype
    }
}

/// One AdamW step's hyper-parameters (decoupled weight decay, bias correction at `step`, 1-based).
public struct AdamWStep: Sendable, Equatable {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    public var step: Int

    public init(learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float, step: Int) {
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2
        self.epsilon = epsilon; self.weightDecay = weightDecay; self.step = step
    }
}

/// What a device must implement for RLTensor to run on it.
///
/// The contract, for backend authors:
/// - Memory: allocate buffers, copy bytes between host and device, `synchronize` (which must
///   surface asynchronous errors). Buffers passed to one call belong to this backend.
/// - Every kernel reads and writes the element ranges it is given; outputs never alias inputs
///   unless a method says so. All floating-point kernels are f32 (the `gemm` `B` operand may be
///   bf16). Index inputs (`targets`, `ids`, `positions`, `indices`, `keyMask`) are i32.
/// - `copy` handles every dtype and arbitrary strides (views, broadcasts, concatenation).
/// - Fused ops come with their backward kernels; backward kernels that produce parameter
///   gradients (`rmsNormBackward`'s `dweight`, `embeddingBackward`) *accumulate* into zeroed or
///   existing memory as documented.
/// - Random fills are counter-based (Philox4x32-10 keyed by `seed`, counter = `counterOffset` +
///   element index), so every backend produces the same stream for the same seed.
/// Shape checks happen above the backend, in `Tensor`; a backend may assume valid arguments.
public protocol ComputeBackend: AnyObject, Sendable {
    var device: Device { get }

    // MARK: memory
    func allocate(byteCount: Int) -> any DeviceBuffer
    func upload(_ bytes: UnsafeRawBufferPointer, to buffer: any DeviceBuffer, byteOffset: Int)
    func download(_ buffer: any DeviceBuffer, byteOffset: Int, into bytes: UnsafeMutableRawBufferPointer)
    func synchronize() throws

    // MARK: data movement
    /// Copies the `shape`-shaped view `source` into the view `destination` (same dtype).
    func copy(dtype: DType, shape: [Int], from source: StridedRef, to destination: StridedRef)
    func fill(_ destination: BufferRef, count: Int, dtype: DType, value: Double)
    func cast(_ source: BufferRef, from: DType, to destination: BufferRef, as: DType, count: Int)
    func randomFill(_ destination: BufferRef, count: Int, distribution: RandomDistribution, seed: UInt64, counterOffset: UInt64)

    // MARK: elementwise and reductions (f32, except where a dtype is passed)
    func unary(_ op: UnaryOp, _ x: BufferRef, _ y: BufferRef, count: Int)
    /// `out[idx] = a[idx] op b[idx]` over `shape`, reading `a` and `b` through their strides
    /// (stride 0 broadcasts); `out` is contiguous. All three are of `dtype`: f32, or bf16
    /// activations computed in f32.
    func binary(_ op: BinaryOp, _ a: StridedRef, _ b: StridedRef, _ out: BufferRef, shape: [Int], dtype: DType)
    /// `out = condition != 0 ? a : b`, strided like `binary`.
    func select(_ condition: StridedRef, _ a: StridedRef, _ b: StridedRef, _ out: BufferRef, shape: [Int])
    /// `x` is contiguous `[outer, axis, inner]`; `y` is `[outer, inner]`.
    func reduce(_ op: ReduceOp, _ x: BufferRef, _ y: BufferRef, outer: Int, axis: Int, inner: Int)
    /// Sum of squares of `count` elements, accumulated in double (gradient norms).
    func sumOfSquares(_ x: BufferRef, count: Int) -> Double

    // MARK: matrix products
    func gemm(_ descriptor: GemmDescriptor)

    // MARK: softmax family (rows x cols, last axis)
    func softmax(_ x: BufferRef, _ y: BufferRef, rows: Int, cols: Int, log: Bool)
    func softmaxBackward(output y: BufferRef, gradOutput dy: BufferRef, gradInput dx: BufferRef, rows: Int, cols: Int, log: Bool)
    /// `logp[r] = log_softmax(logits[r] / T)[targets[r]]`, saving the row logsumexp for backward.
    func tokenLogProbs(logits: BufferRef, targets: BufferRef, logProbs: BufferRef, logSumExp: BufferRef, rows: Int, cols: Int, temperature: Float)
    func tokenLogProbsBackward(logits: BufferRef, targets: BufferRef, logSumExp: BufferRef, gradLogProbs: BufferRef, gradLogits: BufferRef, rows: Int, cols: Int, temperature: Float)
    /// `entropy[r]` = entropy in nats of `softmax(logits[r] / T)`, from the row logsumexp that
    /// `tokenLogProbs` saved (one more read of the logits; nothing materialised).
    func rowEntropy(logits: BufferRef, logSumExp: BufferRef, entropy: BufferRef, rows: Int, cols: Int, temperature: Float)

    // MARK: indexing
    /// `y[r, j] = x[r, indices[r, j]]` with `x` `[rows, cols]` and `indices` `[rows, k]`.
    func gather(_ x: BufferRef, indices: BufferRef, _ y: BufferRef, rows: Int, cols: Int, k: Int)
    /// `dx` (`[rows, cols]`, zeroed by this call) receives `dy` scattered at `indices` (added on repeats).
    func gatherBackward(_ dy: BufferRef, indices: BufferRef, _ dx: BufferRef, rows: Int, cols: Int, k: Int)
    /// `y[i] = table[ids[i]]` (rows of `dim`); the table is f32 or bf16, `y` is `outputType`
    /// (f32, or bf16 activations).
    func embedding(table: BufferRef, tableType: DType, ids: BufferRef, _ y: BufferRef, count: Int, dim: Int, outputType: DType)
    /// `gradTable[ids[i]] += dy[i]`; `gradTable` is zeroed by the caller.
    func embeddingBackward(_ dy: BufferRef, ids: BufferRef, gradTable: BufferRef, count: Int, dim: Int)
    /// `y[rows[i]] = x[i]` for `i < count` (rows of `dim` elements of `dtype`, f32 or bf16; the
    /// row indices are distinct): writes a batch of rows in place in one call (e.g. new tokens
    /// into KV-cache slots).
    func scatterRows(_ x: BufferRef, rows: BufferRef, _ y: BufferRef, count: Int, dim: Int, dtype: DType)

    // MARK: fused ops
    /// RMSNorm of the rows of `x` into `y` (both of `dtype`: f32, or bf16 activations computed in
    /// f32); `weight` and the saved `rstd` are f32.
    func rmsNorm(_ x: BufferRef, weight: BufferRef, _ y: BufferRef, rstd: BufferRef, rows: Int, cols: Int, eps: Float, dtype: DType)
    /// Writes `dx`; *adds* the weight gradient into `gradWeight`.
    func rmsNormBackward(_ dy: BufferRef, x: BufferRef, weight: BufferRef, rstd: BufferRef, gradInput dx: BufferRef, gradWeight: BufferRef, rows: Int, cols: Int)
    /// Rotate-half rotary embedding of `[tokens, heads, headDim]` at `positions[tokens]`;
    /// `inverse` rotates backwards (the gradient). `x` and `y` are of `dtype` (f32, or bf16
    /// activations computed in f32).
    func rope(_ x: BufferRef, positions: BufferRef, _ y: BufferRef, tokens: Int, heads: Int, headDim: Int, theta: Float, inverse: Bool, dtype: DType)
    /// `y = silu(gate) * up`, all of `dtype` (f32, or bf16 activations computed in f32).
    func swiglu(gate: BufferRef, up: BufferRef, _ y: BufferRef, count: Int, dtype: DType)
    func swigluBackward(gate: BufferRef, up: BufferRef, gradOutput: BufferRef, gradGate: BufferRef, gradUp: BufferRef, count: Int)
    /// Forward attention; writes the output and the per-(batch, head, query) logsumexp
    /// (`[batch, queryHeads, queryLength]`, `-inf` for queries that see no key).
    func attention(_ d: AttentionDescriptor, query: BufferRef, key: BufferRef, value: BufferRef, keyMask: BufferRef?, output: BufferRef, logSumExp: BufferRef)
    /// Gradients of attention (f32 only); `gradQuery`, `gradKey`, `gradValue` are contiguous and
    /// overwritten.
    func attentionBackward(_ d: AttentionDescriptor, query: BufferRef, key: BufferRef, value: BufferRef, keyMask: BufferRef?, output: BufferRef, logSumExp: BufferRef, gradOutput: BufferRef, gradQuery: BufferRef, gradKey: BufferRef, gradValue: BufferRef)
    /// Decode attention over a paged KV cache (`PagedAttentionDescriptor`); `blockTables` and
    /// `lengths` are i32 on this device, `output` is overwritten. No backward: it serves inference.
    func pagedDecodeAttention(_ d: PagedAttentionDescriptor, query: BufferRef, keyBlocks: BufferRef, valueBlocks: BufferRef,
                              blockTables: BufferRef, lengths: BufferRef, output: BufferRef)

    // MARK: optimiser
    func adamW(parameter: BufferRef, gradient: BufferRef, firstMoment: BufferRef, secondMoment: BufferRef, count: Int, step: AdamWStep)

    // MARK: generation
    /// One token per row of `logits` (contiguous `[rows, vocab]` f32) picked on the device, with
    /// its log-probability under the unmodified distribution (`log_softmax` of the row), exactly
    /// as RLModel's `TokenSampler` picks it on the host from the same logits; row `r` penalises
    /// `histories[r]` (read only when `repetitionPenalty != 1`) and draws with `seeds[r]`. Only
    /// the picks come back (8 bytes a row). Returns nil, doing nothing, when the backend has no
    /// device sampler (the default; the CPU backend's logits are sampled in place by the host
    /// sampler). Throws the backend's error when the work fails.
    func sampleTokens(_ descriptor: TokenSamplingDescriptor, logits: BufferRef, seeds: [UInt64],
                      histories: [[Int32]]) throws -> [(token: Int32, logProb: Float)]?

    // MARK: recording
    /// Runs `body` while recording the work it issues on this backend, and returns the recording,
    /// which has not run yet: `RecordedWork.replay()` runs it, as often as wanted. Buffers
    /// allocated while recording stay with the recording (their addresses are baked into it).
    /// Returns nil when the backend does not record work (the default; then `body` is not called)
    /// or the recording failed (`body` may have been called, but none of its work is guaranteed
    /// to have run): the caller then runs `body` itself. `body` must not read device memory back
    /// to the host, upload from the host or synchronize.
    func recordWork(_ body: () -> Void) -> (any RecordedWork)?
}

extension ComputeBackend {
    /// No device sampler: callers sample on the host.
    public func sampleTokens(_ descriptor: TokenSamplingDescriptor, logits: BufferRef, seeds: [UInt64],
                             histories: [[Int32]]) throws -> [(token: Int32, logProb: Float)]? {
        nil
    }

    /// No recording: callers run their work eagerly.
    public func recordWork(_ body: () -> Void) -> (any RecordedWork)? { nil }
}
