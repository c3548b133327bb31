import RLTensor

/// The CUDA backend's conformance suite: every `ComputeBackend` op run on a GPU and on the CPU
/// backend with the same inputs, compared llm.c style (`|gpu - cpu| <= atol + |cpu| * eps`; eps
/// about 1e-5 for f32 kernels, 1e-2 where bf16 rounding is involved; bit-exact for copies, casts
/// and the uniform random stream).
///
/// It lives in the library (not only in the test target) so that the statically linked
/// `gpu-check` binary can run it on a GPU machine that has no Swift toolchain; the Swift test
/// `CUDABackendTests` runs the same cases.
public enum CUDAConformance {
    /// One case's outcome.
    public struct Outcome: Sendable, CustomStringConvertible {
        public let name: String
        public let failures: [String]
        public let seconds: Double
        public var passed: Bool { failures.isEmpty }
        public var description: String {
            (passed ? "PASS" : "FAIL") + " \(name) (\(Int(seconds * 1000)) ms)" + (passed ? "" : "\n  " + failures.joined(separator: "\n  "))
        }
    }

    /// Names of the cases, in the order `run` runs them.
    public static var caseNames: [String] { Suite.cases.map(\.0) + Suite.attentionCases.map { "attention \($0)" } }

    /// Runs every case `include` accepts (all by default); `log` receives progress lines.
    public static func run(on gpu: CUDABackend, include: (String) -> Bool = { _ in true },
                           log: @escaping (String) -> Void = { print($0) }) -> [Outcome] {
        var outcomes: [Outcome] = []
        let all: [(String, (Suite) throws -> Void)] = Suite.cases + Suite.attentionCases.map { c in ("attention \(c)", { try $0.attentionForwardBackward(c) }) }
        for (name, body) in all where include(name) {
            let suite = Suite(gpu: gpu, log: log)
            let start = monotonicSeconds()
            do { try body(suite) } catch { suite.failures.append("threw: \(error)") }
            do { try gpu.synchronize() } catch { suite.failures.append("synchronize: \(error)") }
            let outcome = Outcome(name: name, failures: suite.failures, seconds: monotonicSeconds() - start)
            log(outcome.description)
            outcomes.append(outcome)
        }
        return outcomes
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private typealias H = CUDAConformance.Suite

extension CUDAConformance {
    final class Suite {
        let gpu: CUDABackend
        let log: (String) -> Void
        var failures: [String] = []

        init(gpu: CUDABackend, log: @escaping (String) -> Void) {
            self.gpu = gpu
            self.log = log
        }

        static var cases: [(String, (Suite) throws -> Void)] { [
            ("upload/download round trip", { try $0.uploadDownloadRoundTrip() }),
            ("caching allocator", { try $0.allocatorReusesBlocks() }),
            ("strided copy (2/4/8-byte)", { try $0.stridedCopyAllWidths() }),
            ("fill and cast", { try $0.fillAndCast() }),
            ("random streams", { try $0.randomStreamsMatchTheCPU() }),
            ("unary ops", { try $0.unaryOps() }),
            ("binary ops and select", { try $0.binaryOpsWithBroadcast() }),
            ("reductions and sum of squares", { try $0.reductions() }),
            ("gemm f32", { try $0.gemmF32AllTransposes() }),
            ("gemm bf16 weights", { try $0.gemmBF16Weights() }),
            ("softmax forward/backward", { try $0.softmaxForwardBackward() }),
            ("token log-probs and entropy", { try $0.tokenLogProbsWithTemperature() }),
            ("gather and embedding", { try $0.gatherAndEmbedding() }),
            ("rmsnorm forward/backward", { try $0.rmsNormForwardBackward() }),
            ("rope", { try $0.ropeBothWays() }),
            ("swiglu and adamw", { try $0.swigluAndAdamW() }),
            ("paged decode attention", { try $0.pagedDecodeAttention() }),
            ("bf16 activations (inference ops)", { try $0.bf16Activations() }),
            ("tensor graph and gradients", { try $0.tensorGraphAndGradients() }),
            ("recorded step (CUDA graph)", { try $0.recordedStep() }),
        ] }

        func expect(_ condition: Bool, _ message: @autoclosure () -> String) {
            if !condition { failures.append(message()) }
        }

        // MARK: harness

        /// Deterministic host values in [-scale, scale).
        static func values(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
            (0..<count).map { i in
                let (w, _, _, _) = Philox.block(counter: UInt64(i), key: seed &+ 0x5151)
                return (Float(w >> 8) / 16_777_216 * 2 - 1) * scale
            }
        }

        static func buffer(_ b: any ComputeBackend, _ v: [Float]) -> BufferRef {
            let buf = b.allocate(byteCount: max(v.count, 1) * 4)
            v.withUnsafeBytes { b.upload($0, to: buf, byteOffset: 0) }
            return BufferRef(buf)
        }

        static func buffer(_ b: any ComputeBackend, _ v: [Int32]) -> BufferRef {
            let buf = b.allocate(byteCount: max(v.count, 1) * 4)
            v.withUnsafeBytes { b.upload($0, to: buf, byteOffset: 0) }
            return BufferRef(buf)
        }

        static func buffer(_ b: any ComputeBackend, bytes: [UInt8]) -> BufferRef {
            let buf = b.allocate(byteCount: max(bytes.count, 1))
            bytes.withUnsafeBytes { b.upload($0, to: buf, byteOffset: 0) }
            return BufferRef(buf)
        }

        static func empty(_ b: any ComputeBackend, _ count: Int, fill value: Float = .nan) -> BufferRef {
            buffer(b, [Float](repeating: value, count: count))
        }

        static func read(_ b: any ComputeBackend, _ ref: BufferRef, _ count: Int) -> [Float] {
            var out = [Float](repeating: 0, count: count)
            out.withUnsafeMutableBytes { b.download(ref.buffer, byteOffset: ref.offset * 4, into: $0) }
            return out
        }

        static func readBytes(_ b: any ComputeBackend, _ ref: BufferRef, _ count: Int) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: count)
            out.withUnsafeMutableBytes { b.download(ref.buffer, byteOffset: 0, into: $0) }
            return out
        }

        /// Runs `body` on both backends and compares the outputs.
        func compare(_ what: String, eps: Float = 1e-5, atol: Float = 1e-5, _ body: (any ComputeBackend) -> [Float]) throws {
            let expected = body(CPUBackend.shared)
            let actual = body(gpu)
            try gpu.synchronize()
            expect(expected.count == actual.count, "\(what): \(actual.count) values, expected \(expected.count)")
            var worst: (Int, Float, Float)? = nil, failures = 0
            for i in 0..<min(expected.count, actual.count) {
                let e = expected[i], a = actual[i]
                if e.isNaN && a.isNaN { continue }
                if e.isInfinite && a == e { continue }
                if !(abs(a - e) <= atol + abs(e) * eps) {
                    failures += 1
                    if worst == nil || !(abs(a - e) <= abs(worst!.1 - worst!.2)) { worst = (i, a, e) }
                }
            }
            expect(failures == 0, "\(what): \(failures) of \(expected.count) outside atol \(atol) + eps \(eps); worst at \(worst.map { "[\($0.0)] gpu \($0.1) cpu \($0.2)" } ?? "-")")
        }

        // MARK: memory and data movement
    
        func uploadDownloadRoundTrip() throws {
                    let v = H.values(10_001, seed: 1)
            let b = H.buffer(gpu, v)
            expect(H.read(gpu, b, v.count) == v, "H.read(gpu, b, v.count) == v")
            try gpu.synchronize()
            log("CUDA device: \(gpu.name) \(gpu.architecture), \(gpu.multiprocessorCount) SMs; \(CUDABackend.availability().description)")
        }
    
        func allocatorReusesBlocks() throws {
                    do { _ = gpu.allocate(byteCount: 3 << 20) }
            let before = gpu.memoryStatistics
            do { _ = gpu.allocate(byteCount: 3 << 20) }
            let after = gpu.memoryStatistics
            expect(after.cacheHits == before.cacheHits + 1, "after.cacheHits == before.cacheHits + 1")
            expect(after.deviceAllocations == before.deviceAllocations, "after.deviceAllocations == before.deviceAllocations")
            expect(after.allocatedBytes == before.allocatedBytes, "after.allocatedBytes == before.allocatedBytes")
        }
    
        func stridedCopyAllWidths() throws {
            let shape = [3, 4, 5]
            // Transposed read of a [5, 4, 3] source into a contiguous destination.
            for dtype in [DType.f32, .bf16, .i64] {
                try compare("copy \(dtype)", eps: 0, atol: 0) { b in
                    let n = 60 * dtype.byteSize
                    let src = H.buffer(b, bytes: (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
                    let dst = H.buffer(b, bytes: [UInt8](repeating: 0, count: n))
                    b.copy(dtype: dtype, shape: shape, from: StridedRef(src.buffer, offset: 0, strides: [1, 3, 12]),
                           to: StridedRef(dst.buffer, offset: 0, strides: [20, 5, 1]))
                    return H.readBytes(b, dst, n).map(Float.init)
                }
            }
        }
    
        func fillAndCast() throws {
            // Values the CPU's integer casts accept (it traps beyond Int64), with NaN, infinities and halves.
            let v = H.values(1000, seed: 2, scale: 300) + [.nan, .infinity, -.infinity, 1e10, -1e10, 1e5, 0.5, -2.5, 65520, 1e-8]
            for (from, to) in [(DType.f32, DType.bf16), (.f32, .f16), (.f32, .i32), (.f32, .i64)] {
                try compare("cast \(from)->\(to)", eps: 0, atol: 0) { b in
                    let src = H.buffer(b, v)
                    let mid = H.buffer(b, bytes: [UInt8](repeating: 0, count: v.count * to.byteSize))
                    let back = H.empty(b, v.count)
                    b.cast(src, from: from, to: mid, as: to, count: v.count)
                    b.cast(mid, from: to, to: back, as: .f32, count: v.count)
                    return H.read(b, back, v.count)
                }
            }
            for dtype in [DType.f32, .bf16, .f16, .i32, .i64] {
                try compare("fill \(dtype)", eps: 0, atol: 0) { b in
                    let dst = H.buffer(b, bytes: [UInt8](repeating: 0, count: 37 * dtype.byteSize))
                    b.fill(dst, count: 37, dtype: dtype, value: -3.25)
                    let back = H.empty(b, 37)
                    b.cast(dst, from: dtype, to: back, as: .f32, count: 37)
                    return H.read(b, back, 37)
                }
            }
        }
    
        func randomStreamsMatchTheCPU() throws {
            // Uniform: bit for bit. Normal: libm vs CUDA log/cos differ in the last bits.
            try compare("uniform", eps: 0, atol: 0) { b in
                let y = H.empty(b, 100_003)
                b.randomFill(y, count: 100_003, distribution: .uniform(low: -0.5, high: 2), seed: 42, counterOffset: 7)
                return H.read(b, y, 100_003)
            }
            try compare("normal", eps: 1e-5, atol: 1e-5) { b in
                let y = H.empty(b, 100_003)
                b.randomFill(y, count: 100_003, distribution: .normal(mean: 1, std: 0.02), seed: 9, counterOffset: 1 << 40)
                return H.read(b, y, 100_003)
            }
        }
    
        // MARK: elementwise and reductions
    
        func unaryOps() throws {
            let ops: [UnaryOp] = [.neg, .exp, .log, .sqrt, .rsqrt, .sigmoid, .silu, .abs, .square, .tanh, .reciprocal,
                                  .addScalar(0.5), .mulScalar(-3), .powScalar(1.5), .rsubScalar(2), .rdivScalar(3), .clamp(min: -0.2, max: 0.3)]
            let positive = H.values(4097, seed: 3).map { abs($0) * 4 + 0.01 }
            let signed = H.values(4097, seed: 4, scale: 6)
            for op in ops {
                let needsPositive: Bool = { switch op { case .log, .sqrt, .rsqrt, .powScalar: return true; default: return false } }()
                let x = needsPositive ? positive : signed
                try compare("unary \(op)", eps: 2e-6, atol: 1e-6) { b in
                    let y = H.empty(b, x.count)
                    b.unary(op, H.buffer(b, x), y, count: x.count)
                    return H.read(b, y, x.count)
                }
            }
        }
    
        func binaryOpsWithBroadcast() throws {
            let a = H.values(6 * 7, seed: 5, scale: 3).map { $0 + 3.5 }, c = H.values(7, seed: 6, scale: 2)
            for op in [BinaryOp.add, .sub, .mul, .div, .maximum, .minimum, .equal, .greater, .less, .pow] {
                try compare("binary \(op) broadcast", eps: 2e-6, atol: 1e-6) { b in
                    let y = H.empty(b, 42)
                    b.binary(op, StridedRef(H.buffer(b, a).buffer, offset: 0, strides: [7, 1]),
                             StridedRef(H.buffer(b, c).buffer, offset: 0, strides: [0, 1]), y, shape: [6, 7], dtype: .f32)
                    return H.read(b, y, 42)
                }
                try compare("binary \(op) contiguous", eps: 2e-6, atol: 1e-6) { b in
                    let y = H.empty(b, 42)
                    b.binary(op, StridedRef(H.buffer(b, a).buffer, offset: 0, strides: [7, 1]),
                             StridedRef(H.buffer(b, a.reversed()).buffer, offset: 0, strides: [7, 1]), y, shape: [6, 7], dtype: .f32)
                    return H.read(b, y, 42)
                }
            }
            try compare("select") { b in
                let cond = (0..<42).map { Float($0 % 3 == 0 ? 1 : 0) }
                let y = H.empty(b, 42)
                b.select(StridedRef(H.buffer(b, cond).buffer, offset: 0, strides: [7, 1]),
                         StridedRef(H.buffer(b, a).buffer, offset: 0, strides: [7, 1]),
                         StridedRef(H.buffer(b, c).buffer, offset: 0, strides: [0, 1]), y, shape: [6, 7])
                return H.read(b, y, 42)
            }
        }
    
        func reductions() throws {
            for (outer, axis, inner) in [(3, 1000, 1), (4, 17, 33), (1, 300_001, 1), (5, 0, 2), (2, 1, 9)] {
                let x = H.values(outer * axis * inner, seed: 7)
                for op in [ReduceOp.sum, .max, .min] {
                    // Float sums in different orders: allow the usual sqrt(n)-ish rounding growth.
                try compare("reduce \(op) \(outer)x\(axis)x\(inner)", eps: 1e-5, atol: max(1e-4, 2e-7 * Float(axis))) { b in
                        let y = H.empty(b, outer * inner)
                        b.reduce(op, H.buffer(b, x), y, outer: outer, axis: axis, inner: inner)
                        return H.read(b, y, outer * inner)
                    }
                }
            }
                    let x = H.values(1_000_003, seed: 8)
            let cpu = CPUBackend.shared.sumOfSquares(H.buffer(CPUBackend.shared, x), count: x.count)
            let dev = gpu.sumOfSquares(H.buffer(gpu, x), count: x.count)
            expect(abs(cpu - dev) <= 1e-9 * cpu, "sumOfSquares \(dev) vs \(cpu)")
        }
    
        // MARK: GEMM
    
        func gemmF32AllTransposes() throws {
            let (m, n, k) = (37, 53, 70)
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = H.values(m * k * 2, seed: 9), w = H.values(n * k * 2, seed: 10)
                let c0 = H.values(m * n * 2, seed: 11)
                try compare("gemm f32 ta=\(ta) tb=\(tb) batched", eps: 1e-5, atol: 1e-4) { b in
                    let c = H.buffer(b, c0)
                    var d = GemmDescriptor(m: m, n: n, k: k, a: H.buffer(b, a), lda: ta ? m : k,
                                           b: H.buffer(b, w), ldb: tb ? k : n, c: c, ldc: n)
                    d.transposeA = ta; d.transposeB = tb; d.alpha = 0.7; d.beta = 0.3
                    d.batchCount = 2; d.strideA = m * k; d.strideB = n * k; d.strideC = m * n
                    b.gemm(d)
                    return H.read(b, c, m * n * 2)
                }
            }
        }
    
        func gemmBF16Weights() throws {
            // m <= 8 takes the f32-activation GEMV kernel (aligned and unaligned k), larger m cuBLAS.
            for (m, n, k) in [(1, 1536, 1536), (6, 257, 96), (8, 100, 37), (9, 64, 512), (130, 64, 512)] {
                let a = H.values(m * k, seed: 12), w = H.values(n * k, seed: 13, scale: 0.1)
                let wBits = w.map { HalfPrecision.bf16Bits($0) }
                let bytes = wBits.withUnsafeBytes { Array($0) }
                // A is rounded to bf16 on the GPU (cuBLAS bf16 x bf16 -> f32): bf16 tolerance.
                let gemv = m <= CUDABackend.gemvRowLimit  // f32 activations: f32 tolerance
                try compare("gemm bf16 \(m)x\(n)x\(k)", eps: gemv ? 1e-4 : 1e-2, atol: gemv ? 1e-5 : 2e-2) { b in
                    let c = H.empty(b, m * n, fill: 0)
                    var d = GemmDescriptor(m: m, n: n, k: k, a: H.buffer(b, a), lda: k,
                                           b: H.buffer(b, bytes: bytes), ldb: k, c: c, ldc: n)
                    d.transposeB = true; d.bType = .bf16
                    b.gemm(d)
                    return H.read(b, c, m * n)
                }
            }
        }
    
        // MARK: softmax family
    
        func softmaxForwardBackward() throws {
            for (rows, cols) in [(3, 7), (5, 1000), (2, 151_936)] {
                let x = H.values(rows * cols, seed: 14, scale: 8), dy = H.values(rows * cols, seed: 15)
                for log in [false, true] {
                    try compare("softmax log=\(log) \(rows)x\(cols)", eps: 1e-4, atol: 1e-6) { b in
                        let y = H.empty(b, rows * cols), dx = H.empty(b, rows * cols)
                        b.softmax(H.buffer(b, x), y, rows: rows, cols: cols, log: log)
                        b.softmaxBackward(output: y, gradOutput: H.buffer(b, dy), gradInput: dx, rows: rows, cols: cols, log: log)
                        return H.read(b, y, rows * cols) + H.read(b, dx, rows * cols)
                    }
                }
            }
        }
    
        func tokenLogProbsWithTemperature() throws {
            for (rows, cols, t) in [(4, 50, Float(1)), (3, 151_936, 0.7)] {
                let x = H.values(rows * cols, seed: 16, scale: 10)
                let targets = (0..<rows).map { Int32(($0 * 7919) % cols) }
                let g = H.values(rows, seed: 17)
                try compare("token log-probs \(rows)x\(cols) T=\(t)", eps: 1e-4, atol: 1e-5) { b in
                    let logits = H.buffer(b, x), tg = H.buffer(b, targets)
                    let lp = H.empty(b, rows), lse = H.empty(b, rows), dl = H.empty(b, rows * cols)
                    b.tokenLogProbs(logits: logits, targets: tg, logProbs: lp, logSumExp: lse, rows: rows, cols: cols, temperature: t)
                    b.tokenLogProbsBackward(logits: logits, targets: tg, logSumExp: lse, gradLogProbs: H.buffer(b, g),
                                            gradLogits: dl, rows: rows, cols: cols, temperature: t)
                    let entropy = H.empty(b, rows)
                    b.rowEntropy(logits: logits, logSumExp: lse, entropy: entropy, rows: rows, cols: cols, temperature: t)
                    return H.read(b, lp, rows) + H.read(b, lse, rows) + H.read(b, dl, rows * cols) + H.read(b, entropy, rows)
                }
            }
        }
    
        // MARK: indexing
    
        func gatherAndEmbedding() throws {
            let (rows, cols, k) = (5, 11, 4)
            let x = H.values(rows * cols, seed: 18), idx = (0..<rows * k).map { Int32(($0 * 5) % cols) }
            let dy = H.values(rows * k, seed: 19)
            try compare("gather + backward") { b in
                let y = H.empty(b, rows * k), dx = H.empty(b, rows * cols)
                let ib = H.buffer(b, idx)
                b.gather(H.buffer(b, x), indices: ib, y, rows: rows, cols: cols, k: k)
                b.gatherBackward(H.buffer(b, dy), indices: ib, dx, rows: rows, cols: cols, k: k)
                return H.read(b, y, rows * k) + H.read(b, dx, rows * cols)
            }
            let (vocab, dim, count) = (50, 24, 37)
            let table = H.values(vocab * dim, seed: 20), ids = (0..<count).map { Int32(($0 * 13) % 9) }
            let tableBF16 = table.map { HalfPrecision.bf16Bits($0) }.withUnsafeBytes { Array($0) }
            let gy = H.values(count * dim, seed: 21)
            try compare("embedding f32/bf16 + backward", eps: 1e-6, atol: 1e-6) { b in
                let y = H.empty(b, count * dim), y2 = H.empty(b, count * dim)
                let grad = H.empty(b, vocab * dim, fill: 0.25)
                let idb = H.buffer(b, ids)
                b.embedding(table: H.buffer(b, table), tableType: .f32, ids: idb, y, count: count, dim: dim, outputType: .f32)
                b.embedding(table: H.buffer(b, bytes: tableBF16), tableType: .bf16, ids: idb, y2, count: count, dim: dim, outputType: .f32)
                b.embeddingBackward(H.buffer(b, gy), ids: idb, gradTable: grad, count: count, dim: dim)
                return H.read(b, y, count * dim) + H.read(b, y2, count * dim) + H.read(b, grad, vocab * dim)
            }
            try compare("scatter rows", eps: 0, atol: 0) { b in
                let y = H.empty(b, vocab * dim, fill: 0.25)
                b.scatterRows(H.buffer(b, gy), rows: H.buffer(b, (0..<Int32(count)).map { ($0 * 7) % Int32(vocab) }), y, count: count, dim: dim, dtype: .f32)
                return H.read(b, y, vocab * dim)
            }
        }
    
        // MARK: fused ops
    
        func rmsNormForwardBackward() throws {
            for (rows, cols) in [(3, 8), (700, 1536)] {
                let x = H.values(rows * cols, seed: 22, scale: 3), w = H.values(cols, seed: 23)
                let dy = H.values(rows * cols, seed: 24)
                try compare("rmsnorm \(rows)x\(cols)", eps: 1e-4, atol: 1e-3) { b in
                    let y = H.empty(b, rows * cols), r = H.empty(b, rows), dx = H.empty(b, rows * cols)
                    let gw = H.buffer(b, [Float](repeating: 1, count: cols))  // accumulates
                    let xb = H.buffer(b, x), wb = H.buffer(b, w)
                    b.rmsNorm(xb, weight: wb, y, rstd: r, rows: rows, cols: cols, eps: 1e-6, dtype: .f32)
                    b.rmsNormBackward(H.buffer(b, dy), x: xb, weight: wb, rstd: r, gradInput: dx, gradWeight: gw, rows: rows, cols: cols)
                    return H.read(b, y, rows * cols) + H.read(b, r, rows)
                        + H.read(b, dx, rows * cols) + H.read(b, gw, cols)
                }
            }
        }
    
        func ropeBothWays() throws {
            let (tokens, heads, dim) = (9, 3, 128)
            let x = H.values(tokens * heads * dim, seed: 25), pos = (0..<tokens).map { Int32($0 * 1000 + 3) }
            for inverse in [false, true] {
                try compare("rope inverse=\(inverse)", eps: 1e-5, atol: 1e-5) { b in
                    let y = H.empty(b, x.count)
                    b.rope(H.buffer(b, x), positions: H.buffer(b, pos), y, tokens: tokens, heads: heads,
                           headDim: dim, theta: 10_000, inverse: inverse, dtype: .f32)
                    return H.read(b, y, x.count)
                }
            }
        }
    
        func swigluAndAdamW() throws {
            let n = 10_007
            let g = H.values(n, seed: 26, scale: 6), u = H.values(n, seed: 27), dy = H.values(n, seed: 28)
            try compare("swiglu", eps: 2e-6, atol: 1e-6) { b in
                let y = H.empty(b, n), dg = H.empty(b, n), du = H.empty(b, n)
                let gb = H.buffer(b, g), ub = H.buffer(b, u)
                b.swiglu(gate: gb, up: ub, y, count: n, dtype: .f32)
                b.swigluBackward(gate: gb, up: ub, gradOutput: H.buffer(b, dy), gradGate: dg, gradUp: du, count: n)
                return H.read(b, y, n) + H.read(b, dg, n) + H.read(b, du, n)
            }
            let p = H.values(n, seed: 29), grad = H.values(n, seed: 30, scale: 0.01)
            try compare("adamw 3 steps", eps: 1e-6, atol: 1e-7) { b in
                let pb = H.buffer(b, p), gb = H.buffer(b, grad)
                let m = H.empty(b, n, fill: 0), v = H.empty(b, n, fill: 0)
                for s in 1...3 {
                    b.adamW(parameter: pb, gradient: gb, firstMoment: m, secondMoment: v, count: n,
                            step: AdamWStep(learningRate: 1e-3, beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1, step: s))
                }
                return H.read(b, pb, n) + H.read(b, m, n) + H.read(b, v, n)
            }
        }
    
        // MARK: attention
    
        struct AttentionCase: CustomStringConvertible, Sendable {
            var batch, queryLength, keyLength, queryHeads, kvHeads, headDim, queryOffset: Int
            var masked: Bool
            var description: String { "B\(batch) Lq\(queryLength) Lk\(keyLength) H\(queryHeads)/\(kvHeads) D\(headDim) off\(queryOffset) mask=\(masked)" }
        }
    
        static let attentionCases: [AttentionCase] = [
            .init(batch: 1, queryLength: 5, keyLength: 5, queryHeads: 2, kvHeads: 1, headDim: 4, queryOffset: 0, masked: false),
            .init(batch: 2, queryLength: 70, keyLength: 70, queryHeads: 12, kvHeads: 2, headDim: 128, queryOffset: 0, masked: true),
            .init(batch: 2, queryLength: 1, keyLength: 40, queryHeads: 6, kvHeads: 2, headDim: 64, queryOffset: 39, masked: true),  // decode
            .init(batch: 1, queryLength: 8, keyLength: 100, queryHeads: 4, kvHeads: 4, headDim: 96, queryOffset: 30, masked: false),  // chunked prefill into a cache
            .init(batch: 1, queryLength: 300, keyLength: 300, queryHeads: 2, kvHeads: 1, headDim: 256, queryOffset: 0, masked: false),
            // long decodes: flash-decoding (split keys, partials combined)
            .init(batch: 1, queryLength: 1, keyLength: 2000, queryHeads: 12, kvHeads: 2, headDim: 128, queryOffset: 1999, masked: true),
            .init(batch: 2, queryLength: 1, keyLength: 700, queryHeads: 4, kvHeads: 1, headDim: 64, queryOffset: 600, masked: true),
        ]
    
        func attentionForwardBackward(_ c: AttentionCase) throws {
            // K/V live in a wider cache (token stride larger than the packed heads) to test strides.
            let kvStride = c.kvHeads * c.headDim + 8
            let q = H.values(c.batch * c.queryLength * c.queryHeads * c.headDim, seed: 31)
            let k = H.values(c.batch * c.keyLength * kvStride, seed: 32)
            let v = H.values(c.batch * c.keyLength * kvStride, seed: 33)
            let dO = H.values(c.batch * c.queryLength * c.queryHeads * c.headDim, seed: 34)
            // Left padding in batch 0 (the first 3 keys masked), everything visible in the others.
            let mask: [Int32] = (0..<c.batch * c.keyLength).map { i in (i / c.keyLength == 0 && i % c.keyLength < 3) ? 0 : 1 }
            let d = AttentionDescriptor(batch: c.batch, queryLength: c.queryLength, keyLength: c.keyLength, queryHeads: c.queryHeads,
                                        kvHeads: c.kvHeads, headDim: c.headDim, queryOffset: c.queryOffset,
                                        scale: 1 / Float(c.headDim).squareRoot(),
                                        queryStrides: (c.queryLength * c.queryHeads * c.headDim, c.queryHeads * c.headDim),
                                        keyStrides: (c.keyLength * kvStride, kvStride), valueStrides: (c.keyLength * kvStride, kvStride),
                                        keyMaskStride: c.keyLength)
            let outCount = q.count, lseCount = c.batch * c.queryHeads * c.queryLength, kvCount = c.batch * c.keyLength * c.kvHeads * c.headDim
            try compare("attention \(c)", eps: 1e-4, atol: 2e-5) { b in
                let qb = H.buffer(b, q), kb = H.buffer(b, k), vb = H.buffer(b, v)
                let mb: BufferRef? = c.masked ? H.buffer(b, mask) : nil
                let o = H.empty(b, outCount), lse = H.empty(b, lseCount)
                let dq = H.empty(b, outCount), dk = H.empty(b, kvCount), dv = H.empty(b, kvCount)
                b.attention(d, query: qb, key: kb, value: vb, keyMask: mb, output: o, logSumExp: lse)
                b.attentionBackward(d, query: qb, key: kb, value: vb, keyMask: mb, output: o, logSumExp: lse,
                                    gradOutput: H.buffer(b, dO), gradQuery: dq, gradKey: dk, gradValue: dv)
                return H.read(b, o, outCount) + H.read(b, lse, lseCount) + H.read(b, dq, outCount)
                    + H.read(b, dk, kvCount) + H.read(b, dv, kvCount)
            }
        }
    
        /// Three sequences over a shuffled pool of 16-token blocks, the first two sharing their
        /// first two blocks (a prompt's samples), one of length 0; GQA 12/2, head dim 128.
        func pagedDecodeAttention() throws {
            let (heads, kvHeads, dim, blockSize, blocks) = (12, 2, 128, 16, 40)
            let lengths: [Int32] = [40, 300, 0]
            let tables: [Int32] = [3, 7, 11] + [Int32](repeating: 0, count: 16)
                + [3, 7] + (0..<17).map { Int32(39 - $0) }
                + [Int32](repeating: 0, count: 19)
            let q = H.values(3 * heads * dim, seed: 61)
            let k = H.values(blocks * blockSize * kvHeads * dim, seed: 62), v = H.values(k.count, seed: 63)
            let d = PagedAttentionDescriptor(batch: 3, queryHeads: heads, kvHeads: kvHeads, headDim: dim, blockSize: blockSize,
                                             blockTableStride: 19, maxLength: 300, scale: 1 / Float(dim).squareRoot())
            try compare("paged decode attention", eps: 1e-4, atol: 2e-5) { b in
                let o = H.empty(b, q.count)
                b.pagedDecodeAttention(d, query: H.buffer(b, q), keyBlocks: H.buffer(b, k), valueBlocks: H.buffer(b, v),
                                       blockTables: H.buffer(b, tables), lengths: H.buffer(b, lengths), output: o)
                return H.read(b, o, q.count)
            }
        }

        func tensorGraphAndGradients() throws {
            func run(_ device: Device) -> [Float] {
                let x = Tensor(H.values(24, seed: 40), shape: [4, 6], device: device)
                let w = Tensor(H.values(18, seed: 41), shape: [6, 3], device: device)
                let bias = Tensor(H.values(3, seed: 42), shape: [3], device: device)
                let (value, grads) = valueAndGrad(at: [x, w, bias]) { (x.matmul(w) + bias).silu().softmax().square().sum() }
                return value.toFloatArray() + grads.flatMap { $0.toFloatArray() }
            }
            try compare("tensor graph and gradients", eps: 1e-4, atol: 1e-5) { b in run(b.device) }
        }

        /// A decode-like `ReplayableStep` (embedding, f32 and bf16-weight products, RoPE, KV
        /// writes through slots, paged attention) run for four steps whose ids, positions, slots
        /// and lengths are written in place between runs: on the GPU it must be recorded (unless
        /// recording was switched off before) and replay to the CPU's results; dropping it must
        /// give its memory back to the allocator.
        func recordedStep() throws {
            let (batch, heads, kvHeads, dim, blockSize, vocab) = (3, 4, 2, 8, 4, 20)
            let switchedOff = gpu.recordingFallbackReason
            let before = gpu.memoryStatistics.allocatedBytes
            var recorded = false
            try compare("recorded step", eps: 1e-2, atol: 1e-3) { b in
                let device = b.device
                let table = Tensor(H.values(vocab * kvHeads * dim, seed: 71), shape: [vocab, kvHeads * dim], device: device)
                let wq = Tensor(H.values(kvHeads * dim * heads * dim, seed: 72), shape: [kvHeads * dim, heads * dim], device: device)
                let wo = Tensor(H.values(heads * dim * 24, seed: 73), shape: [24, heads * dim], device: device).cast(to: .bf16)
                let pools = (0..<2).map { _ in Tensor.zeros([2 * batch, blockSize, kvHeads, dim], device: device) }
                let packed = Tensor.zeros([batch * 6], dtype: .i32, device: device)
                func part(_ i: Int) -> Tensor { packed.sliced(axis: 0, (i * batch)..<((i + 1) * batch)) }
                let ids = part(0), positions = part(1).reshaped([batch, 1]), slots = part(2), lengths = part(3)
                let tables = packed.sliced(axis: 0, (4 * batch)..<(6 * batch)).reshaped([batch, 2])
                let step = ReplayableStep(device: device) {
                    let x = table.embedding(ids)
                    let q = x.matmul(wq).reshaped([batch, 1, heads, dim]).rotaryEmbedding(positions: positions, theta: 10_000)
                    let k = x.reshaped([batch, 1, kvHeads, dim]).rotaryEmbedding(positions: positions, theta: 10_000)
                    pools[0].reshaped([2 * batch * blockSize, kvHeads, dim]).assignRows(slots, from: k.reshaped([batch, kvHeads, dim]))
                    pools[1].reshaped([2 * batch * blockSize, kvHeads, dim]).assignRows(slots, from: x.reshaped([batch, kvHeads, dim]))
                    let attended = Tensor.pagedDecodeAttention(query: q, keyBlocks: pools[0], valueBlocks: pools[1], blockTables: tables,
                                                               lengths: lengths, maxLength: 2 * blockSize)
                    return [attended.reshaped([batch, heads * dim]).linear(wo)]
                }
                var out: [Float] = []
                for s in 0..<4 {
                    // Row r: id, position s, slot s of its first block, s + 1 keys, blocks 2r and 2r + 1.
                    var inputs: [Int32] = (0..<batch).map { Int32((s * 7 + $0 * 5) % vocab) }
                    inputs += [Int32](repeating: Int32(s), count: batch)
                    inputs += (0..<batch).map { Int32($0 * 2 * blockSize + s) }
                    inputs += [Int32](repeating: Int32(s + 1), count: batch)
                    inputs += (0..<batch).flatMap { [Int32(2 * $0), Int32(2 * $0 + 1)] }
                    packed.overwrite(with: inputs)
                    do { out += try step.run()[0].toFloatArray() } catch { expect(false, "step \(s) on \(device) threw \(error)") }
                }
                if device != .cpu { recorded = step.isRecorded }
                return out
            }
            try gpu.synchronize()
            if switchedOff == nil {
                expect(recorded, "the step was not recorded: \(gpu.recordingFallbackReason ?? "no reason given")")
            } else {
                log("recorded step ran eagerly: \(switchedOff!)")
            }
            expect(gpu.memoryStatistics.allocatedBytes == before,
                   "allocated bytes \(gpu.memoryStatistics.allocatedBytes) after the step was dropped, \(before) before")
        }
    }
}
