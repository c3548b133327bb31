import CRLKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The CPU backend: OpenBLAS for large matrix products, C loops the compiler vectorises (with
/// AVX2 kernels for few-row products) for everything else, split across cores for large work.
/// OpenBLAS is loaded at run time with the kernel set chosen for this CPU (`blas`).
public final class CPUBackend: ComputeBackend, @unchecked Sendable {
    /// The process-wide CPU backend.
    public static let shared = CPUBackend()

    public let device = Device.cpu

    private init() { _ = BLASLibrary.status }

    /// Which OpenBLAS and which kernels run on this machine (loaded when the backend is created;
    /// see `BLASStatus`).
    public var blas: BLASStatus { BLASLibrary.status }

    /// Threads of the parallel loops (`ComputeOptions.threadCount`; OpenBLAS itself runs single-threaded).
    public var threadCount: Int { Parallel.threadCount }

    // MARK: memory

    public func allocate(byteCount: Int) -> any DeviceBuffer { CPUBuffer(byteCount: byteCount) }

    public func upload(_ bytes: UnsafeRawBufferPointer, to buffer: any DeviceBuffer, byteOffset: Int) {
        let b = buffer as! CPUBuffer
        precondition(byteOffset + bytes.count <= b.byteCount, "upload past the end of the buffer")
        if let base = bytes.baseAddress { memcpy(b.pointer + byteOffset, base, bytes.count) }
    }

    public func download(_ buffer: any DeviceBuffer, byteOffset: Int, into bytes: UnsafeMutableRawBufferPointer) {
        let b = buffer as! CPUBuffer
        precondition(byteOffset + bytes.count <= b.byteCount, "download past the end of the buffer")
        if let base = bytes.baseAddress { memcpy(base, b.pointer + byteOffset, bytes.count) }
    }

    public func synchronize() throws {}

    // MARK: data movement

    public func copy(dtype: DType, shape: [Int], from source: StridedRef, to destination: StridedRef) {
        let total = shape.reduce(1, *)
        guard total > 0 else { return }
        let (cs, st) = StridedLoops.collapse(shape: shape, strides: [source.strides, destination.strides])
        let src = (source.buffer as! CPUBuffer).pointer, dst = (destination.buffer as! CPUBuffer).pointer
        let inner = cs.last!, rows = total / inner
        let ss = st[0].last!, ds = st[1].last!
        func run<T>(_: T.Type) {
            let s = src.assumingMemoryBound(to: T.self) + source.offset
            let d = dst.assumingMemoryBound(to: T.self) + destination.offset
            Parallel.ranges(rows, grain: max(1, 65_536 / inner)) { r0, r1 in
                StridedLoops.forEachRow(shape: cs, strides: st, rows: r0..<r1) { off, _ in
                    let sp = s + off[0], dp = d + off[1]
                    if ss == 1 && ds == 1 {
                        dp.update(from: sp, count: inner)
                    } else {
                        for i in 0..<inner { dp[i * ds] = sp[i * ss] }
                    }
                }
            }
        }
        switch dtype.byteSize {
        case 2: run(UInt16.self)
        case 4: run(UInt32.self)
        default: run(UInt64.self)
        }
    }

    public func fill(_ destination: BufferRef, count: Int, dtype: DType, value: Double) {
        let p = destination.bytes(dtype)
        func run<T>(_ v: T) {
            let t = p.assumingMemoryBound(to: T.self)
            Parallel.ranges(count, grain: 1 << 17) { a, b in (t + a).update(repeating: v, count: b - a) }
        }
        switch dtype {
        case .f32: run(Float(value))
        case .bf16: run(HalfPrecision.bf16Bits(Float(value)))
        case .f16: run(HalfPrecision.f16Bits(Float(value)))
        case .i32: run(Int32(value))
        case .i64: run(Int64(value))
        }
    }

    public func cast(_ source: BufferRef, from: DType, to destination: BufferRef, as target: DType, count: Int) {
        let s = source.bytes(from), d = destination.bytes(target)
        if from == .f32 && target == .bf16 {
            Parallel.ranges(count, grain: 1 << 16) { a, b in
                rl_f32_to_bf16(s.assumingMemoryBound(to: Float.self) + a, d.assumingMemoryBound(to: UInt16.self) + a, b - a)
            }
            return
        }
        if from == .bf16 && target == .f32 {
            Parallel.ranges(count, grain: 1 << 16) { a, b in
                rl_bf16_to_f32(s.assumingMemoryBound(to: UInt16.self) + a, d.assumingMemoryBound(to: Float.self) + a, b - a)
            }
            return
        }
        for i in 0..<count {
            let v: Double
            switch from {
            case .f32: v = Double(s.assumingMemoryBound(to: Float.self)[i])
            case .bf16: v = Double(HalfPrecision.float(bf16: s.assumingMemoryBound(to: UInt16.self)[i]))
            case .f16: v = Double(HalfPrecision.float(f16: s.assumingMemoryBound(to: UInt16.self)[i]))
            case .i32: v = Double(s.assumingMemoryBound(to: Int32.self)[i])
            case .i64: v = Double(s.assumingMemoryBound(to: Int64.self)[i])
            }
            switch target {
            case .f32: d.assumingMemoryBound(to: Float.self)[i] = Float(v)
            case .bf16: d.assumingMemoryBound(to: UInt16.self)[i] = HalfPrecision.bf16Bits(Float(v))
            case .f16: d.assumingMemoryBound(to: UInt16.self)[i] = HalfPrecision.f16Bits(Float(v))
            case .i32: d.assumingMemoryBound(to: Int32.self)[i] = v.isFinite ? Int32(clamping: Int64(v.rounded(.towardZero))) : 0
            case .i64: d.assumingMemoryBound(to: Int64.self)[i] = v.isFinite && abs(v) < 9.2e18 ? Int64(v.rounded(.towardZero)) : 0
            }
        }
    }

    public func randomFill(_ destination: BufferRef, count: Int, distribution: RandomDistribution, seed: UInt64, counterOffset: UInt64) {
        let p = destination.f32
        if case .uniform(let low, let high) = distribution {
            // Vectorised, the same numbers (dropout masks draw from here).
            Parallel.ranges(count, grain: 1 << 14) { a, b in
                rl_philox_uniform_f32(p + a, b - a, seed, counterOffset &+ UInt64(a), low, high)
            }
            return
        }
        Parallel.ranges(count, grain: 1 << 14) { a, b in
            for i in a..<b { p[i] = Philox.sample(distribution, seed: seed, index: counterOffset &+ UInt64(i)) }
        }
    }

    // MARK: elementwise

    public func unary(_ op: UnaryOp, _ x: BufferRef, _ y: BufferRef, count: Int) {
        let (code, p0, p1): (Int32, Float, Float)
        switch op {
        case .neg: (code, p0, p1) = (Int32(RL_UNARY_NEG), 0, 0)
        case .exp: (code, p0, p1) = (Int32(RL_UNARY_EXP), 0, 0)
        case .log: (code, p0, p1) = (Int32(RL_UNARY_LOG), 0, 0)
        case .sqrt: (code, p0, p1) = (Int32(RL_UNARY_SQRT), 0, 0)
        case .rsqrt: (code, p0, p1) = (Int32(RL_UNARY_RSQRT), 0, 0)
        case .sigmoid: (code, p0, p1) = (Int32(RL_UNARY_SIGMOID), 0, 0)
        case .silu: (code, p0, p1) = (Int32(RL_UNARY_SILU), 0, 0)
        case .abs: (code, p0, p1) = (Int32(RL_UNARY_ABS), 0, 0)
        case .square: (code, p0, p1) = (Int32(RL_UNARY_SQUARE), 0, 0)
        case .tanh: (code, p0, p1) = (Int32(RL_UNARY_TANH), 0, 0)
        case .reciprocal: (code, p0, p1) = (Int32(RL_UNARY_RECIPROCAL), 0, 0)
        case .addScalar(let s): (code, p0, p1) = (Int32(RL_UNARY_ADD_SCALAR), s, 0)
        case .mulScalar(let s): (code, p0, p1) = (Int32(RL_UNARY_MUL_SCALAR), s, 0)
        case .powScalar(let s): (code, p0, p1) = (Int32(RL_UNARY_POW_SCALAR), s, 0)
        case .rsubScalar(let s): (code, p0, p1) = (Int32(RL_UNARY_RSUB_SCALAR), s, 0)
        case .rdivScalar(let s): (code, p0, p1) = (Int32(RL_UNARY_RDIV_SCALAR), s, 0)
        case .clamp(let lo, let hi): (code, p0, p1) = (Int32(RL_UNARY_CLAMP), lo, hi)
        }
        let xp = x.f32, yp = y.f32
        Parallel.ranges(count, grain: 1 << 15) { a, b in rl_unary_f32(code, xp + a, yp + a, b - a, p0, p1) }
    }

    public func binary(_ op: BinaryOp, _ a: StridedRef, _ b: StridedRef, _ out: BufferRef, shape: [Int], dtype: DType) {
        let total = shape.reduce(1, *)
        guard total > 0 else { return }
        if dtype != .f32 {
            let af = widenedToF32(a, dtype, shape: shape), bf = widenedToF32(b, dtype, shape: shape)
            return intoF32(out, dtype, count: total) { binary(op, af, bf, $0, shape: shape, dtype: .f32) }
        }
        let (cs, st) = StridedLoops.collapse(shape: shape, strides: [a.strides, b.strides, Tensor.contiguousStrides(shape)])
        let ap = (a.buffer as! CPUBuffer).floats(a.offset), bp = (b.buffer as! CPUBuffer).floats(b.offset), yp = out.f32
        let inner = cs.last!, rows = total / inner
        let sa = st[0].last!, sb = st[1].last!
        Parallel.ranges(rows, grain: max(1, 32_768 / inner)) { r0, r1 in
            StridedLoops.forEachRow(shape: cs, strides: st, rows: r0..<r1) { off, _ in
                rl_binary_f32(op.rawValue, ap + off[0], sa, bp + off[1], sb, yp + off[2], inner)
            }
        }
    }

    public func select(_ condition: StridedRef, _ a: StridedRef, _ b: StridedRef, _ out: BufferRef, shape: [Int]) {
        let total = shape.reduce(1, *)
        guard total > 0 else { return }
        let (cs, st) = StridedLoops.collapse(shape: shape, strides: [condition.strides, a.strides, b.strides, Tensor.contiguousStrides(shape)])
        let cp = (condition.buffer as! CPUBuffer).floats(condition.offset)
        let ap = (a.buffer as! CPUBuffer).floats(a.offset), bp = (b.buffer as! CPUBuffer).floats(b.offset), op = out.f32
        let inner = cs.last!, rows = total / inner
        StridedLoops.forEachRow(shape: cs, strides: st, rows: 0..<rows) { off, _ in
            rl_select_f32(cp + off[0], st[0].last!, ap + off[1], st[1].last!, bp + off[2], st[2].last!, op + off[3], inner)
        }
    }

    public func reduce(_ op: ReduceOp, _ x: BufferRef, _ y: BufferRef, outer: Int, axis: Int, inner: Int) {
        let xp = x.f32, yp = y.f32
        if axis == 0 {
            fill(y, count: outer * inner, dtype: .f32, value: op == .sum ? 0 : (op == .max ? -Double.infinity : Double.infinity))
            return
        }
        if outer == 1 && inner == 1 {
            // A full reduction: split the axis, then combine.
            var partials = [Float](repeating: 0, count: Parallel.threadCount)
            let chunks = min(Parallel.threadCount, max(1, axis / 65_536))
            partials.withUnsafeMutableBufferPointer { part in
                let pp = part.baseAddress!
                Parallel.ranges(chunks, grain: 1) { c0, c1 in
                    for c in c0..<c1 {
                        let a = axis * c / chunks, b = axis * (c + 1) / chunks
                        rl_reduce_f32(op.rawValue, xp + a, pp + c, 0, 1, b - a, 1)
                    }
                }
                rl_reduce_f32(op.rawValue, pp, yp, 0, 1, chunks, 1)
            }
            return
        }
        Parallel.ranges(outer, grain: max(1, 32_768 / max(axis * inner, 1))) { o0, o1 in
            rl_reduce_f32(op.rawValue, xp, yp, o0, o1, axis, inner)
        }
    }

    public func sumOfSquares(_ x: BufferRef, count: Int) -> Double {
        rl_sum_squares_f32(x.f32, count)
    }

    // MARK: softmax family

    public func softmax(_ x: BufferRef, _ y: BufferRef, rows: Int, cols: Int, log: Bool) {
        let xp = x.f32, yp = y.f32
        Parallel.ranges(rows, grain: max(1, 16_384 / max(cols, 1))) { a, b in rl_softmax_f32(xp, yp, a, b, cols, log ? 1 : 0) }
    }

    public func softmaxBackward(output y: BufferRef, gradOutput dy: BufferRef, gradInput dx: BufferRef, rows: Int, cols: Int, log: Bool) {
        let yp = y.f32, dyp = dy.f32, dxp = dx.f32
        Parallel.ranges(rows, grain: max(1, 16_384 / max(cols, 1))) { a, b in rl_softmax_backward_f32(yp, dyp, dxp, a, b, cols, log ? 1 : 0) }
    }

    public func tokenLogProbs(logits: BufferRef, targets: BufferRef, logProbs: BufferRef, logSumExp: BufferRef, rows: Int, cols: Int, temperature: Float) {
        let lp = logits.f32, tp = targets.i32, op = logProbs.f32, sp = logSumExp.f32
        Parallel.ranges(rows, grain: max(1, 16_384 / max(cols, 1))) { a, b in
            rl_token_logprobs_f32(lp, tp, op, sp, a, b, cols, 1 / temperature)
        }
    }

    public func tokenLogProbsBackward(logits: BufferRef, targets: BufferRef, logSumExp: BufferRef, gradLogProbs: BufferRef, gradLogits: BufferRef, rows: Int, cols: Int, temperature: Float) {
        let lp = logits.f32, tp = targets.i32, sp = logSumExp.f32, gp = gradLogProbs.f32, dp = gradLogits.f32
        Parallel.ranges(rows, grain: max(1, 16_384 / max(cols, 1))) { a, b in
            rl_token_logprobs_backward_f32(lp, tp, sp, gp, dp, a, b, cols, 1 / temperature)
        }
    }

    public func rowEntropy(logits: BufferRef, logSumExp: BufferRef, entropy: BufferRef, rows: Int, cols: Int, temperature: Float) {
        let lp = logits.f32, sp = logSumExp.f32, ep = entropy.f32
        Parallel.ranges(rows, grain: max(1, 16_384 / max(cols, 1))) { a, b in
            rl_row_entropy_f32(lp, sp, ep, a, b, cols, 1 / temperature)
        }
    }

    // MARK: indexing

    public func gather(_ x: BufferRef, indices: BufferRef, _ y: BufferRef, rows: Int, cols: Int, k: Int) {
        let xp = x.f32, ip = indices.i32, yp = y.f32
        for r in 0..<rows { for j in 0..<k { yp[r * k + j] = xp[r * cols + Int(ip[r * k + j])] } }
    }

    public func gatherBackward(_ dy: BufferRef, indices: BufferRef, _ dx: BufferRef, rows: Int, cols: Int, k: Int) {
        fill(dx, count: rows * cols, dtype: .f32, value: 0)
        let dyp = dy.f32, ip = indices.i32, dxp = dx.f32
        for r in 0..<rows { for j in 0..<k { dxp[r * cols + Int(ip[r * k + j])] += dyp[r * k + j] } }
    }

    public func embedding(table: BufferRef, tableType: DType, ids: BufferRef, _ y: BufferRef, count: Int, dim: Int, outputType: DType) {
        if outputType != .f32 {
            return intoF32(y, outputType, count: count * dim) {
                embedding(table: table, tableType: tableType, ids: ids, $0, count: count, dim: dim, outputType: .f32)
            }
        }
        let ip = ids.i32, yp = y.f32
        if tableType == .bf16 {
            let tp = table.bytes(.bf16).assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { rl_bf16_to_f32(tp + Int(ip[i]) * dim, yp + i * dim, dim) }
        } else {
            let tp = table.f32
            for i in 0..<count { (yp + i * dim).update(from: tp + Int(ip[i]) * dim, count: dim) }
        }
    }

    public func embeddingBackward(_ dy: BufferRef, ids: BufferRef, gradTable: BufferRef, count: Int, dim: Int) {
        let dyp = dy.f32, ip = ids.i32, gp = gradTable.f32
        for i in 0..<count {
            rl_binary_f32(BinaryOp.add.rawValue, gp + Int(ip[i]) * dim, 1, dyp + i * dim, 1, gp + Int(ip[i]) * dim, dim)
        }
    }

    public func scatterRows(_ x: BufferRef, rows: BufferRef, _ y: BufferRef, count: Int, dim: Int, dtype: DType) {
        CPUBackend.checkActivationType(dtype)
        let xp = x.bytes(dtype), rp = rows.i32, yp = y.bytes(dtype), rowBytes = dim * dtype.byteSize
        for i in 0..<count { (yp + Int(rp[i]) * rowBytes).copyMemory(from: xp + i * rowBytes, byteCount: rowBytes) }
    }

    // MARK: fused ops

    public func rmsNorm(_ x: BufferRef, weight: BufferRef, _ y: BufferRef, rstd: BufferRef, rows: Int, cols: Int, eps: Float, dtype: DType) {
        if dtype != .f32 {
            let xf = widenedToF32(x, dtype, count: rows * cols)
            return intoF32(y, dtype, count: rows * cols) { rmsNorm(xf, weight: weight, $0, rstd: rstd, rows: rows, cols: cols, eps: eps, dtype: .f32) }
        }
        let xp = x.f32, wp = weight.f32, yp = y.f32, rp = rstd.f32
        Parallel.ranges(rows, grain: max(1, 16_384 / max(cols, 1))) { a, b in rl_rmsnorm_f32(xp, wp, yp, rp, a, b, cols, eps) }
    }

    public func rmsNormBackward(_ dy: BufferRef, x: BufferRef, weight: BufferRef, rstd: BufferRef, gradInput dx: BufferRef, gradWeight: BufferRef, rows: Int, cols: Int) {
        let dyp = dy.f32, xp = x.f32, wp = weight.f32, rp = rstd.f32, dxp = dx.f32, gw = gradWeight.f32
        let chunks = min(Parallel.threadCount, max(1, rows * cols / 16_384))
        var partial = [Float](repeating: 0, count: chunks * cols)
        partial.withUnsafeMutableBufferPointer { part in
            let pp = part.baseAddress!
            Parallel.ranges(chunks, grain: 1) { c0, c1 in
                for c in c0..<c1 {
                    rl_rmsnorm_backward_f32(dyp, xp, wp, rp, dxp, pp + c * cols, rows * c / chunks, rows * (c + 1) / chunks, cols)
                }
            }
            for c in 0..<chunks { rl_binary_f32(BinaryOp.add.rawValue, gw, 1, pp + c * cols, 1, gw, cols) }
        }
    }

    public func rope(_ x: BufferRef, positions: BufferRef, _ y: BufferRef, tokens: Int, heads: Int, headDim: Int, theta: Float, inverse: Bool, dtype: DType) {
        if dtype != .f32 {
            let count = tokens * heads * headDim, xf = widenedToF32(x, dtype, count: count)
            return intoF32(y, dtype, count: count) {
                rope(xf, positions: positions, $0, tokens: tokens, heads: heads, headDim: headDim, theta: theta, inverse: inverse, dtype: .f32)
            }
        }
        let xp = x.f32, pp = positions.i32, yp = y.f32
        Parallel.ranges(tokens, grain: max(1, 8_192 / max(heads * headDim, 1))) { a, b in
            rl_rope_f32(xp, pp, yp, a, b, heads, headDim, theta, inverse ? 1 : 0)
        }
    }

    public func swiglu(gate: BufferRef, up: BufferRef, _ y: BufferRef, count: Int, dtype: DType) {
        if dtype != .f32 {
            let gf = widenedToF32(gate, dtype, count: count), uf = widenedToF32(up, dtype, count: count)
            return intoF32(y, dtype, count: count) { swiglu(gate: gf, up: uf, $0, count: count, dtype: .f32) }
        }
        let gp = gate.f32, up = up.f32, yp = y.f32
        Parallel.ranges(count, grain: 1 << 15) { a, b in rl_swiglu_f32(gp + a, up + a, yp + a, b - a) }
    }

    public func swigluBackward(gate: BufferRef, up: BufferRef, gradOutput: BufferRef, gradGate: BufferRef, gradUp: BufferRef, count: Int) {
        let gp = gate.f32, upp = up.f32, dyp = gradOutput.f32, dgp = gradGate.f32, dup = gradUp.f32
        Parallel.ranges(count, grain: 1 << 15) { a, b in rl_swiglu_backward_f32(gp + a, upp + a, dyp + a, dgp + a, dup + a, b - a) }
    }

    // MARK: optimiser

    public func adamW(parameter: BufferRef, gradient: BufferRef, firstMoment: BufferRef, secondMoment: BufferRef, count: Int, step: AdamWStep) {
        let pp = parameter.f32, gp = gradient.f32, mp = firstMoment.f32, vp = secondMoment.f32
        let bc1 = 1 - Float(libmPow(Double(step.beta1), Double(step.step)))
        let bc2 = 1 - Float(libmPow(Double(step.beta2), Double(step.step)))
        Parallel.ranges(count, grain: 1 << 15) { a, b in
            rl_adamw_f32(pp + a, gp + a, mp + a, vp + a, b - a, step.learningRate, step.beta1, step.beta2,
                         step.epsilon, step.weightDecay, bc1, bc2)
        }
    }
}

/// `pow` from the C library (named to avoid clashing with `Tensor.pow`).
@inline(__always) func libmPow(_ x: Double, _ y: Double) -> Double {
    #if canImport(Glibc)
    return Glibc.pow(x, y)
    #else
    return Darwin.pow(x, y)
    #endif
}
