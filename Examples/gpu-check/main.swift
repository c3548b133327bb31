import RLTensorConformance
// gpu-check: the CUDA backend's conformance suite and GPU benchmarks, for a GPU machine with no
// Swift toolchain (scripts/gpu-check builds it statically and packs it with its libraries).
//
//   gpu-check check [substring]   every ComputeBackend op on CUDA vs the CPU backend
//   gpu-check gemm                bf16 GEMM TFLOP/s at the Qwen2-1.5B shapes vs a large square GEMM
//   gpu-check decode [batches]    decode tokens/s of a random Qwen2-1.5B-shape model (default 1,6,64)
//   gpu-check model [fixtures]    the Qwen2 fixtures and GRPO steps on CUDA vs transformers/torch and the CPU,
//                                 and token sampling on the GPU vs the host sampler
//   gpu-check model-cpu [fixtures] the same checks on the CPU backend (checks the checks; no GPU needed)
//   gpu-check nccl                NCCL on one GPU: collectives on CUDA tensors and a GRPO step with them
//   gpu-check all                 all of the above but model-cpu (exit status 1 if any check fails)
#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import RLTensor


func say(_ s: String) {
    print(s)
    fflush(nil)
}

func fmt(_ v: Double, _ digits: Int = 1) -> String {
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let r = (v * p).rounded() / p
    return "\(r)"
}

let arguments = Array(CommandLine.arguments.dropFirst())
let command = arguments.first ?? "all"

/// The fixtures folder: the argument after `model`, else `fixtures/` beside the binary.
func fixturesFolder() -> URL {
    if command.hasPrefix("model"), arguments.count > 1 { return URL(fileURLWithPath: arguments[1]) }
    return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("fixtures")
}

func runModelChecks(on device: Device) -> Bool {
    var checks = ModelChecks(fixtures: fixturesFolder(), device: device, say: say)
    do { try checks.run() } catch {
        say("model checks could not run: \(error)")
        return false
    }
    say("model checks on \(device): \(checks.failures.isEmpty ? "all passed" : "\(checks.failures.count) failed: \(checks.failures.joined(separator: "; "))")")
    return checks.failures.isEmpty
}

if command == "model-cpu" { exit(runModelChecks(on: .cpu) ? 0 : 1) }

let availability = CUDABackend.availability()
guard availability.isAvailable else {
    say("CUDA unavailable: \(availability.description)")
    exit(2)
}
let gpu: CUDABackend
do {
    gpu = try CUDABackend.shared()
} catch {
    say("CUDA backend failed to start: \(error)")
    exit(2)
}
say("device: \(gpu.name), \(gpu.architecture), \(gpu.multiprocessorCount) SMs, \(gpu.totalMemory >> 20) MiB")
say("libraries: \(availability.description)")

nonisolated(unsafe) var failed = false

// MARK: conformance

if command == "check" || command == "all" {
    let filter = command == "check" ? arguments.dropFirst().first : nil
    let outcomes = CUDAConformance.run(on: gpu, include: { name in filter.map { name.contains($0) } ?? true })
    let failures = outcomes.filter { !$0.passed }
    say("conformance: \(outcomes.count - failures.count)/\(outcomes.count) cases passed")
    if !failures.isEmpty { failed = true }
}

// MARK: model

if command == "model" || command == "all" {
    if !runModelChecks(on: gpu.device) { failed = true }
    if !runSamplingChecks(on: gpu) { failed = true }
}

// MARK: NCCL

if command == "nccl" || command == "all" {
    if !runNCCLChecks(on: gpu.device) { failed = true }
}

// MARK: GEMM

/// A random bf16 weight `[n, k]` (std 0.02) and f32 activations `[m, k]`.
func timeGemm(m: Int, n: Int, k: Int, iterations: Int) -> Double {
    let a = gpu.allocate(byteCount: m * k * 4), w32 = gpu.allocate(byteCount: n * k * 4), w = gpu.allocate(byteCount: n * k * 2)
    let c = gpu.allocate(byteCount: m * n * 4)
    gpu.randomFill(BufferRef(a), count: m * k, distribution: .normal(mean: 0, std: 1), seed: 1, counterOffset: 0)
    gpu.randomFill(BufferRef(w32), count: n * k, distribution: .normal(mean: 0, std: 0.02), seed: 2, counterOffset: 0)
    gpu.cast(BufferRef(w32), from: .f32, to: BufferRef(w), as: .bf16, count: n * k)
    var d = GemmDescriptor(m: m, n: n, k: k, a: BufferRef(a), lda: k, b: BufferRef(w), ldb: k, c: BufferRef(c), ldc: n)
    d.transposeB = true
    d.bType = .bf16
    for _ in 0..<3 { gpu.gemm(d) }
    try? gpu.synchronize()
    let start = monotonicSeconds()
    for _ in 0..<iterations { gpu.gemm(d) }
    do { try gpu.synchronize() } catch { say("gemm error: \(error)"); failed = true }
    return (monotonicSeconds() - start) / Double(iterations)
}

if command == "gemm" || command == "all" {
    let peakSeconds = timeGemm(m: 8192, n: 8192, k: 8192, iterations: 10)
    let peak = 2 * 8192.0 * 8192 * 8192 / peakSeconds / 1e12
    say("gemm bf16 8192x8192x8192 (reference for the card's peak through this path): \(fmt(peak)) TFLOP/s")
    let tokens = 6 * 1024
    let shapes: [(String, Int, Int, Int)] = [
        ("q/o proj", tokens, 1536, 1536), ("k/v proj", tokens, 256, 1536), ("gate/up proj", tokens, 8960, 1536),
        ("down proj", tokens, 1536, 8960), ("lm head", tokens, 151_936, 1536), ("lm head, decode b64", 64, 151_936, 1536),
    ]
    for (label, m, n, k) in shapes {
        let s = timeGemm(m: m, n: n, k: k, iterations: 20)
        let tflops = 2 * Double(m) * Double(n) * Double(k) / s / 1e12
        say("gemm bf16 \(label) \(m)x\(n)x\(k): \(fmt(s * 1e3, 3)) ms, \(fmt(tflops)) TFLOP/s (\(fmt(100 * tflops / peak))% of the 8192^3 figure)")
    }
    say("note: the f32 activation operand is rounded to bf16 on the GPU before each product (included in the time)")
}

// MARK: decode

if command == "decode" || command == "all" {
    let batches = (command == "decode" ? arguments.dropFirst().first : nil).map { $0.split(separator: ",").compactMap { Int($0) } } ?? [1, 6, 64]
    let bandwidth = DecodeBenchmark.measureBandwidth(gpu)
    say("device-to-device copy: \(fmt(bandwidth / 1e9)) GB/s (bytes read + written)")
    // f32 activations and KV cache, then bf16 ones (computed in f32) at the largest batch.
    for (batch, activations) in batches.map({ ($0, DType.f32) }) + [(batches.max() ?? 64, DType.bf16)] {
        let bench = DecodeBenchmark(gpu: gpu, config: .qwen2_1_5B, batch: batch, maxLength: 1024, activations: activations)
        let r = bench.run(prompt: 128, steps: 128)
        if let error = r.error { say("decode error (\(activations) activations): \(error)"); failed = true; continue }
        let roofline = bandwidth / r.bytesPerStep * Double(batch)
        say("decode batch \(batch), \(activations) activations: \(fmt(r.tokensPerSecond)) tokens/s (\(fmt(r.secondsPerStep * 1e3, 3)) ms/step); "
            + "HBM roofline \(fmt(roofline)) tokens/s at \(fmt(r.bytesPerStep / 1e9, 2)) GB/step -> \(fmt(r.tokensPerSecond / roofline, 2)) of roofline")
    }
    let stats = gpu.memoryStatistics
    say("memory: \(stats)")
}

exit(failed ? 1 : 0)
