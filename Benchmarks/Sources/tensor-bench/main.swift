// tensor-bench: RLTensor's CPU kernels against baselines measured in the same run.
//
//   cd Benchmarks && swift run -c release tensor-bench [--quick] [--bf16] [--matmul-precision]
//
// Every figure is a median over repeated runs; ratios compare medians from this run only. The
// contenders of a comparison run in alternating blocks (see `medians`). The baseline is the same
// OpenBLAS the library loaded (same file, same core); a last section reruns the largest product
// with each OpenBLAS core forced (a child process per core, RL_OPENBLAS_CORETYPE). Products with
// bf16 weights compare the default kernels (AVX512_BF16, AMX where the CPU has them; then also
// RL_NO_AMX=1 RL_BF16_DOT_GEMM=1) with RL_NO_AVX512_BF16=1, in alternating child processes (`--bf16`: only those).
// f32 products compare `MatmulPrecision.float32` with `.bfloat16` (`--matmul-precision`: only those).
import Foundation
import RLTensor

let quick = CommandLine.arguments.contains("--quick")
/// `--forced-core-row`: print only the `linear 512x1536x8960` row (run by the parent per core).
let forcedCoreRow = CommandLine.arguments.contains("--forced-core-row")
/// `--bf16-times`: print only the bf16-weight timings (run by the parent with the bf16
/// instructions turned off).
let bf16TimesOnly = CommandLine.arguments.contains("--bf16-times")
/// `--bf16`: only the bf16-weight table (default kernels, RL_NO_AMX=1 RL_BF16_DOT_GEMM=1 where the CPU has tiles,
/// RL_NO_AVX512_BF16=1).
let bf16Only = CommandLine.arguments.contains("--bf16")

/// The raw CBLAS calls of the OpenBLAS instance RLTensor loaded (dlopen of the same file returns
/// the same instance, initialised with the same core).
struct RawOpenBLAS {
    typealias SGEMM = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
                                      UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    let sgemm: SGEMM
    let setThreads: @convention(c) (Int32) -> Void
    let threads: Int32

    init() {
        let status = CPUBackend.shared.blas
        guard let handle = dlopen(status.library, RTLD_NOW | RTLD_LOCAL),
              let sgemm = dlsym(handle, "cblas_sgemm"), let set = dlsym(handle, "openblas_set_num_threads"),
              let get = dlsym(handle, "openblas_get_num_threads") else { fatalError("cannot open \(status.library)") }
        self.sgemm = unsafeBitCast(sgemm, to: SGEMM.self)
        setThreads = unsafeBitCast(set, to: (@convention(c) (Int32) -> Void).self)
        /// OpenBLAS's own thread count before the library first runs: RLTensor runs OpenBLAS
        /// single-threaded and splits products over its pool, so the baseline restores this
        /// before each call.
        threads = unsafeBitCast(get, to: (@convention(c) () -> Int32).self)()
    }
}

let blas = RawOpenBLAS()
let blasThreads = blas.threads

// MARK: - timing

/// Median wall time of each body in seconds. The bodies run in separate blocks, each after a
/// pause and one warm-up call, and the blocks alternate over `rounds`: a body never runs right
/// after another one, so it is not slowed by the other's threads. (OpenBLAS's workers keep
/// spinning for about 0.1 s after each call and would take a core from whatever runs next.)
func medians(repeats: Int, rounds: Int = 3, _ bodies: [() -> Void]) -> [Double] {
    var times = [[Double]](repeating: [], count: bodies.count)
    let clock = ContinuousClock()
    for _ in 0..<rounds {
        for (i, body) in bodies.enumerated() {
            if bodies.count > 1 { usleep(300_000) }
            body()
            for _ in 0..<max(1, repeats / rounds) {
                let elapsed = clock.measure(body)
                times[i].append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
            }
        }
    }
    return times.map { t in
        let s = t.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}

/// Host memory with the allocation policy of RLTensor's CPU buffers (2 MiB aligned and
/// `MADV_HUGEPAGE` when large), so baselines read memory as fast as the library does.
final class AlignedFloats {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    init(count: Int) {
        self.count = count
        let bytes = max(count * 4, 64)
        let huge = 2 << 20
        let alignment = bytes >= 4 * huge ? huge : 64
        var raw: UnsafeMutableRawPointer?
        precondition(posix_memalign(&raw, alignment, (bytes + alignment - 1) / alignment * alignment) == 0 && raw != nil)
        if alignment == huge { _ = madvise(raw, (bytes + alignment - 1) / alignment * alignment, 14 /* MADV_HUGEPAGE */) }
        pointer = raw!.assumingMemoryBound(to: Float.self)
        pointer.initialize(repeating: 0, count: count)
    }
    deinit { free(pointer) }

    /// Fills with the same seeded values as `Tensor.randomNormal(seed:)` and returns that tensor.
    func fillNormal(shape: [Int], seed: UInt64) -> Tensor {
        let t = Tensor.randomNormal(shape, std: 0.05, seed: seed)
        t.withHostBytes { bytes in UnsafeMutableRawPointer(pointer).copyMemory(from: bytes.baseAddress!, byteCount: count * 4) }
        return t
    }
}

// MARK: - report

/// Prints one markdown table row.
func report(_ cells: String...) {
    print("| " + cells.joined(separator: " | ") + " |")
}
func fmt(_ x: Double, _ digits: Int = 2) -> String {
    var s = String(Int((x * pow(10, Double(digits))).rounded()))
    while s.count <= digits { s = "0" + s }
    let cut = s.index(s.endIndex, offsetBy: -digits)
    return digits == 0 ? s : s[..<cut] + "." + s[cut...]
}

// MARK: - matmul

/// `x.linear(w)` (`w` stored `[n, k]` as Hugging Face does) against `cblas_sgemm` with the same
/// transposes on the same data.
func benchLinear(m: Int, k: Int, n: Int, target: Double) {
    let xRaw = AlignedFloats(count: m * k), wRaw = AlignedFloats(count: n * k), yRaw = AlignedFloats(count: m * n)
    let x = xRaw.fillNormal(shape: [m, k], seed: 1), w = wRaw.fillNormal(shape: [n, k], seed: 2)
    let flops = 2.0 * Double(m) * Double(k) * Double(n)
    let repeats = quick ? 3 : (flops > 1e10 ? 9 : 30)
    let t = medians(repeats: repeats, [
        { _ = x.linear(w) },
        {
            blas.setThreads(blasThreads)
            // CblasRowMajor (101), CblasNoTrans (111), CblasTrans (112)
            blas.sgemm(101, 111, 112, Int32(m), Int32(n), Int32(k), 1,
                       xRaw.pointer, Int32(k), wRaw.pointer, Int32(k), 0, yRaw.pointer, Int32(n))
        },
    ])
    let ratio = t[1] / t[0]
    report("linear \(m)x\(k)x\(n)", "\(fmt(t[0] * 1e3)) ms", "\(fmt(flops / t[0] / 1e9, 1)) GFLOP/s",
           "sgemm \(fmt(t[1] * 1e3)) ms, \(fmt(flops / t[1] / 1e9, 1)) GFLOP/s", "\(fmt(ratio))x", ">= \(fmt(target))x",
           ratio >= target ? "met" : "MISSED")
}

// MARK: - f32 products at bf16 precision

/// A linear layer's three training products with f32 operands at `MatmulPrecision.float32` and
/// `.bfloat16` (AMX tiles where the CPU has them), alternating: forward `x w^T`, input gradient
/// `dy w` and weight gradient `dy^T x`, for the mini model's LM head and MLP and a 1.5B MLP.
func benchMatmulPrecision() {
    print("f32 products: float32 against bfloat16 precision (\(CPUBackend.shared.blas.kernels)), medians, alternating")
    report("product (m x k x n)", "float32", "rate", "bfloat16", "rate", "speedup")
    report("---", "---", "---", "---", "---", "---")
    for (m, k, n) in [(3072, 512, 151_936), (3072, 512, 1408), (3072, 1408, 512), (512, 1536, 8960)] {
        let x = Tensor.randomNormal([m, k], std: 0.05, seed: 1), w = Tensor.randomNormal([n, k], std: 0.05, seed: 2)
        let dy = Tensor.randomNormal([m, n], std: 0.05, seed: 3)
        let flops = 2.0 * Double(m) * Double(k) * Double(n)
        let products: [(String, () -> Void)] = [
            ("forward x w^T", { _ = x.linear(w) }),
            ("input gradient dy w", { _ = dy.matmul(w) }),
            ("weight gradient dy^T x", { _ = dy.transposed().matmul(x) }),
        ]
        for (name, body) in products {
            let t = medians(repeats: quick ? 3 : (flops > 1e11 ? 3 : 9), [
                { MatmulPrecision.withValue(.float32, body) }, { MatmulPrecision.withValue(.bfloat16, body) },
            ])
            report("\(name) \(m)x\(k)x\(n)", "\(fmt(t[0] * 1e3)) ms", "\(fmt(flops / t[0] / 1e9, 1)) GFLOP/s",
                   "\(fmt(t[1] * 1e3)) ms", "\(fmt(flops / t[1] / 1e9, 1)) GFLOP/s", "\(fmt(t[0] / t[1]))x")
        }
    }
}

// MARK: - bf16 weights

/// Products with bf16 weights: prefill and training shapes (many rows) and decode shapes.
let bf16Shapes = [(512, 1536, 8960), (512, 8960, 1536), (1536, 8960, 512), (32, 1536, 8960), (6, 1536, 8960),
                  (1, 1536, 8960), (1, 1536, 151_936)]

/// Training a layer with a frozen bf16 weight: forward and input gradient (LoRA's base).
let bf16TrainingShapes = [(512, 1536, 8960), (512, 8960, 1536)]

/// Median seconds of `x.linear(w)` with w in bf16, for each of `bf16Shapes`, then of its forward
/// and input gradient for each of `bf16TrainingShapes`.
func bf16Times() -> [Double] {
    func inputs(_ m: Int, _ k: Int, _ n: Int) -> (Tensor, Tensor, Int) {
        let flops = 2.0 * Double(m) * Double(k) * Double(n)
        return (Tensor.randomNormal([m, k], std: 0.05, seed: 1), Tensor.randomNormal([n, k], std: 0.05, seed: 2).cast(to: .bf16),
                quick ? 3 : (flops > 1e10 ? 9 : 30))
    }
    let forward = bf16Shapes.map { m, k, n in
        let (x, w, repeats) = inputs(m, k, n)
        return medians(repeats: repeats, [{ _ = x.linear(w) }])[0]
    }
    let training = bf16TrainingShapes.map { m, k, n in
        let (x, w, repeats) = inputs(m, k, n)
        return medians(repeats: repeats, [{ _ = valueAndGrad(at: [x]) { x.linear(w).sum() } }])[0]
    }
    return forward + training
}

/// `bf16Times()` in a child process with `environment` added.
func bf16TimesInChild(_ environment: [String: String]) throws -> [Double] {
    let child = Process()
    child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
    child.arguments = ["--bf16-times"] + (quick ? ["--quick"] : [])
    child.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let pipe = Pipe()
    child.standardOutput = pipe
    try child.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    child.waitUntilExit()
    return output.split(separator: "\n").compactMap { Double($0) }
}

/// bf16 weights with the default kernels against RL_NO_AVX512_BF16=1 (weights widened to f32:
/// the few-row widening kernels, OpenBLAS panels), each in child processes that alternate over
/// `rounds`; each figure is the lowest of its rounds' medians (the machine may be shared). Where
/// the default kernels use AMX tiles, a third child runs with RL_NO_AMX=1 RL_BF16_DOT_GEMM=1 (the AVX512_BF16 GEMM
/// from 4 rows, as on CPUs without tiles), with its speedup over the widened weights.
func benchBF16() throws {
    let rounds = quick ? 1 : 3
    let tiles = CPUBackend.shared.blas.kernels.contains("AMX")
    var own: [Double] = [], noTiles: [Double] = [], widened: [Double] = []
    func lowest(_ a: [Double], _ b: [Double]) -> [Double] { a.isEmpty ? b : zip(a, b).map { min($0, $1) } }
    for _ in 0..<rounds {
        own = lowest(own, try bf16TimesInChild([:]))
        if tiles { noTiles = lowest(noTiles, try bf16TimesInChild(["RL_NO_AMX": "1", "RL_BF16_DOT_GEMM": "1"])) }
        widened = lowest(widened, try bf16TimesInChild(["RL_NO_AVX512_BF16": "1"]))
    }
    print("")
    print("bf16 weights: own kernels (\(CPUBackend.shared.blas.kernels))\(tiles ? ", RL_NO_AMX=1 RL_BF16_DOT_GEMM=1" : "") against RL_NO_AVX512_BF16=1, child processes, best of \(rounds)")
    print("")
    if tiles {
        report("benchmark", "bf16 kernels", "rate", "AVX512_BF16 GEMM (RL_NO_AMX=1 RL_BF16_DOT_GEMM=1)", "rate", "widened (RL_NO_AVX512_BF16=1)", "speedup",
               "speedup, no tiles")
        report("---", "---", "---", "---", "---", "---", "---", "---")
    } else {
        report("benchmark", "bf16 kernels", "rate", "widened (RL_NO_AVX512_BF16=1)", "speedup")
        report("---", "---", "---", "---", "---")
    }
    let rows = bf16Shapes.map { ("linear bf16 \($0)x\($1)x\($2)", 2.0 * Double($0 * $1) * Double($2)) }
        + bf16TrainingShapes.map { ("linear bf16 fwd + input grad \($0)x\($1)x\($2)", 4.0 * Double($0 * $1) * Double($2)) }
    for (i, (name, flops)) in rows.enumerated() {
        let mine = i < own.count ? own[i] : .nan, old = i < widened.count ? widened[i] : .nan
        if tiles {
            let plain = i < noTiles.count ? noTiles[i] : .nan
            report(name, "\(fmt(mine * 1e3)) ms", "\(fmt(flops / mine / 1e9, 1)) GFLOP/s", "\(fmt(plain * 1e3)) ms",
                   "\(fmt(flops / plain / 1e9, 1)) GFLOP/s", "\(fmt(old * 1e3)) ms", "\(fmt(old / mine))x", "\(fmt(old / plain))x")
        } else {
            report(name, "\(fmt(mine * 1e3)) ms", "\(fmt(flops / mine / 1e9, 1)) GFLOP/s", "\(fmt(old * 1e3)) ms",
                   "\(fmt(old / mine))x")
        }
    }
}

// MARK: - bandwidth-bound ops

/// Bytes per second of `memcpy` between two `count`-float buffers (read + write).
func copyBandwidth(count: Int) -> Double {
    let a = AlignedFloats(count: count), b = AlignedFloats(count: count)
    for i in 0..<count { a.pointer[i] = Float(i & 1023) }
    let t = medians(repeats: quick ? 5 : 15, [{ memcpy(b.pointer, a.pointer, count * 4) }])[0]
    return 2.0 * Double(count * 4) / t
}

/// Forward + backward of `op` through `valueAndGrad`, as a fraction of the copy bandwidth.
/// `bytes` counts what the op's forward and backward kernels must read and write; the time also
/// includes the tape and the all-ones output gradient, so the fraction is conservative.
func benchBandwidth(_ name: String, bytes: Double, copy: Double, _ body: @escaping () -> Void) {
    let t = medians(repeats: quick ? 3 : 9, [body])[0]
    let fraction = bytes / t / copy
    report("\(name) fwd+bwd", "\(fmt(t * 1e3)) ms", "\(fmt(bytes / t / 1e9, 1)) GB/s", "copy \(fmt(copy / 1e9, 1)) GB/s",
           "\(fmt(fraction))x", ">= 0.50x", fraction >= 0.5 ? "met" : "MISSED")
}

// MARK: - run

if forcedCoreRow {
    print("core \(CPUBackend.shared.blas.core)")
    benchLinear(m: 512, k: 1536, n: 8960, target: 0.95)
    exit(0)
}

if bf16TimesOnly {
    for t in bf16Times() { print(t) }
    exit(0)
}

if CommandLine.arguments.contains("--matmul-precision") {
    print("tensor-bench: f32 products at bf16 precision only\(quick ? ", quick" : ""), RLTensor CPU backend, \(CPUBackend.shared.threadCount) threads")
    print("BLAS: \(CPUBackend.shared.blas)")
    benchMatmulPrecision()
    exit(0)
}

if bf16Only {
    print("tensor-bench: bf16 weights only\(quick ? ", quick" : ""), RLTensor CPU backend, \(CPUBackend.shared.threadCount) threads")
    print("BLAS: \(CPUBackend.shared.blas)")
    try benchBF16()
    exit(0)
}

print("tensor-bench: \(quick ? "quick" : "full") run, RLTensor CPU backend, \(CPUBackend.shared.threadCount) threads (baseline: \(blasThreads) OpenBLAS threads)")
print("BLAS: \(CPUBackend.shared.blas)")
print("")
report("benchmark", "RLTensor", "rate", "baseline", "ratio", "target", "")
report("---", "---", "---", "---", "---", "---", "---")

for (m, k, n) in [(512, 1536, 8960), (512, 8960, 1536), (512, 1536, 1536)] { benchLinear(m: m, k: k, n: n, target: 0.95) }
for (m, k, n) in [(6, 1536, 8960), (1, 1536, 8960), (1, 1536, 151_936)] { benchLinear(m: m, k: k, n: n, target: 2) }
// 17-32 rows (a generation batch) take the few-row kernels on AVX-512 machines: no slower than sgemm.
benchLinear(m: 32, k: 1536, n: 8960, target: 1)

try benchBF16()
print("")
benchMatmulPrecision()

let copy = copyBandwidth(count: 32 << 20)
do {
    let (rows, cols) = (3072, 1536)  // 6 sequences x 512 tokens, hidden 1536
    let x = Tensor.randomNormal([rows, cols], seed: 3), w = Tensor.randomNormal([cols], mean: 1, std: 0.1, seed: 4)
    let n = Double(rows * cols) * 4
    // forward: read x, write y; backward: read dy and x, write dx (weight and rstd are tiny).
    benchBandwidth("rmsNorm [3072, 1536]", bytes: 5 * n, copy: copy) { _ = valueAndGrad(at: [x, w]) { x.rmsNorm(weight: w, eps: 1e-6) } }
}
do {
    let (rows, cols) = (2048, 8192)
    let x = Tensor.randomNormal([rows, cols], seed: 5)
    let n = Double(rows * cols) * 4
    // forward: read x, write y; backward: read y and dy, write dx.
    benchBandwidth("softmax [2048, 8192]", bytes: 5 * n, copy: copy) { _ = valueAndGrad(at: [x]) { x.softmax() } }
}
do {
    let (rows, cols) = (3072, 8960)
    let gate = Tensor.randomNormal([rows, cols], seed: 6), up = Tensor.randomNormal([rows, cols], seed: 7)
    let n = Double(rows * cols) * 4
    // forward: read gate and up, write y; backward: read gate, up, dy, write both gradients.
    benchBandwidth("swiglu [3072, 8960]", bytes: 8 * n, copy: copy) { _ = valueAndGrad(at: [gate, up]) { Tensor.swiglu(gate: gate, up: up) } }
}
do {
    let (b, t, hq, hkv, d) = (6, 512, 12, 2, 128)
    let q = Tensor.randomNormal([b, t, hq, d], seed: 8), k = Tensor.randomNormal([b, t, hkv, d], seed: 9)
    let v = Tensor.randomNormal([b, t, hkv, d], seed: 10)
    // Causal FLOPs actually needed: QK^T and PV forward, five products backward, each over
    // half the score matrix: 7 * b * hq * t^2 * d.
    let flops = 7.0 * Double(b * hq * t * t * d)
    let times = medians(repeats: quick ? 2 : 5, [
        { _ = Tensor.attention(query: q, key: k, value: v) },
        { _ = valueAndGrad(at: [q, k, v]) { Tensor.attention(query: q, key: k, value: v) } },
    ])
    report("attention fwd [6x512, 12/2 heads, 128]", "\(fmt(times[0] * 1e3)) ms",
           "\(fmt(2.0 * Double(b * hq * t * t * d) / times[0] / 1e9, 1)) GFLOP/s", "", "", "", "")
    report("attention fwd+bwd [6x512, 12/2 heads, 128]", "\(fmt(times[1] * 1e3)) ms", "\(fmt(flops / times[1] / 1e9, 1)) GFLOP/s",
           "", "", "", "")
}

// MARK: - forced cores

/// `linear 512x1536x8960` with each OpenBLAS core named by hand, one child process per core (a
/// process initialises OpenBLAS once). The default run above should match the best of them.
print("")
print("linear 512x1536x8960 with each OpenBLAS core forced (RL_OPENBLAS_CORETYPE, child processes):")
for core in ["PRESCOTT", "SANDYBRIDGE", "HASWELL", "SKYLAKEX", "COOPERLAKE"] {
    let child = Process()
    child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
    child.arguments = ["--forced-core-row"] + (quick ? ["--quick"] : [])
    child.environment = ProcessInfo.processInfo.environment.merging(["RL_OPENBLAS_CORETYPE": core]) { $1 }
    let pipe = Pipe()
    child.standardOutput = pipe
    try child.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    child.waitUntilExit()
    let lines = output.split(separator: "\n")
    let reported = lines.first { $0.hasPrefix("core ") }?.dropFirst(5) ?? "?"
    let row = lines.first { $0.contains("linear 512x1536x8960") } ?? "(no result)"
    print("named \(core), OpenBLAS runs \(reported): \(row)")
}
