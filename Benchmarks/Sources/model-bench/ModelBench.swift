import Dispatch
import Foundation
import Synchronization
import RLModel
import RLTensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Benchmarks of the "mini" Qwen2 (vocab 151936, hidden 512, 8 layers, 8 heads, 2 KV heads,
/// intermediate 1408, random weights, f32) on the CPU: memory read bandwidth, decode at batch 1
/// and 6 (f32 and bf16 weights), prefill 6x256 and a training step on 6x512 tokens with AdamW.
/// The workloads mirror `peer_torch.py --suite mini` so the figures compare side by side.
///
///     swift run -c release --package-path Benchmarks model-bench [--model mini|1.5b] [--suites bandwidth,decode,prefill,train,lora-decode,paged-decode] [--prompt N] [--reps N]
///         [--matmul-precisions float32,bfloat16]
///
/// Threads: `RL_NUM_THREADS` (default 2, the peer figures' setting).
@main
struct ModelBench {
    static func main() {
        if getenv("RL_NUM_THREADS") == nil { setenv("RL_NUM_THREADS", "2", 1) }
        let arguments = Array(CommandLine.arguments.dropFirst())
        func value(_ flag: String) -> String? {
            arguments.firstIndex(of: flag).flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil }
        }
        let suites = Set((value("--suites") ?? "bandwidth,decode,prefill,train").split(separator: ",").map(String.init))
        let reps = value("--reps").flatMap(Int.init) ?? 3
        let threads = Int(String(cString: getenv("RL_NUM_THREADS"))) ?? 2
        // "mini" mirrors `peer_torch.py --suite mini`; "1.5b" the DeepSeek-R1-Distill-Qwen-1.5B shapes
        // of `--suite 1.5b` (decode of 32 new tokens, prefill 1x512; no training step: the f32
        // weights, gradients and AdamW moments would take about 28 GB).
        let modelName = value("--model") ?? "mini"
        // The training step runs once per precision of its f32 products.
        let precisions = (value("--matmul-precisions") ?? "float32,bfloat16").split(separator: ",").map { name in
            guard let precision = MatmulPrecision(rawValue: String(name)) else {
                fatalError("model-bench: --matmul-precisions takes float32 and bfloat16, got \(name)")
            }
            return precision
        }
        let config: ModelConfig
        switch modelName {
        case "mini":
            config = ModelConfig(vocabSize: 151_936, hiddenSize: 512, intermediateSize: 1408, numHiddenLayers: 8,
                                 numAttentionHeads: 8, numKeyValueHeads: 2, maxPositionEmbeddings: 4096)
        case "1.5b":
            config = ModelConfig(vocabSize: 151_936, hiddenSize: 1536, intermediateSize: 8960, numHiddenLayers: 28,
                                 numAttentionHeads: 12, numKeyValueHeads: 2, maxPositionEmbeddings: 4096)
        default:
            fatalError("model-bench: --model must be mini or 1.5b, got \(modelName)")
        }
        let isMini = modelName == "mini"
        let newTokens = isMini ? 128 : 32
        print("model-bench: \(modelName) Qwen2, \(threads) threads, median of \(reps) runs")
        print("BLAS: \(CPUBackend.shared.blas)")
        let model = DecoderModel(randomWeights: config, seed: 0)

        var bandwidth: Double?
        if suites.contains("bandwidth") || suites.contains("decode") {
            bandwidth = Bench.readBandwidth(threads: threads, reps: 5)
            print("memory read bandwidth: \(f(bandwidth!)) GB/s (\(threads) threads, 1 GiB buffer)")
        }
        if suites.contains("decode") {
            let contention = Contention()
            defer { print("  (decode: other processes used \(f(contention.foreignFraction * 100, 0))% of the machine's CPU)") }
            let bf16 = model.inferenceCopy(matrices: .bf16)
            let sampled = SamplingParameters(temperature: 0.7, topP: 0.95)
            var batchOneStep: [String: Double] = [:]
            for (label, weights, bytesPerWeight) in [("f32", model, 4), ("bf16", bf16, 2)] {
                for batch in [1, 6] {
                    let result = Bench.decode(model: weights, batch: batch, promptLength: 64, newTokens: newTokens,
                                              sampling: sampled, reps: reps)
                    let stepBytes = Double(Bench.weightBytesPerStep(config, bytesPerWeight: bytesPerWeight))
                    let roofline = stepBytes / (bandwidth! * 1e9)
                    if batch == 1 { batchOneStep[label] = result.stepSeconds }
                    let ratio = batch == 1 ? "" : "; step cost \(f(result.stepSeconds / batchOneStep[label]!, 2))x batch 1"
                    print("decode \(label) batch \(batch): \(f(result.endToEndTokensPerSecond)) tokens/s end to end "
                          + "(\(f(Double(batch) / result.stepSeconds)) decode only); step \(f(result.stepSeconds * 1e3, 2)) ms = "
                          + "forward \(f(result.forwardSeconds * 1e3, 2)) + logits copy \(f(result.copySeconds * 1e3, 2)) + "
                          + "sampling \(f(result.samplingSeconds * 1e3, 2)); roofline \(f(roofline * 1e3, 2)) ms "
                          + "(\(f(stepBytes / 1e6, 0)) MB/step), fraction \(f(roofline / result.stepSeconds, 2)) "
                          + "(forward only \(f(roofline / result.forwardSeconds, 2)))" + ratio)
                }
            }
        }
        if suites.contains("lora-decode") {
            // Decode with LoRA adapters applied live (r 16, all seven projections, B random so
            // they matter) against the same model with them merged, both with bf16 matrices.
            let contention = Contention()
            defer { print("  (lora-decode: other processes used \(f(contention.foreignFraction * 100, 0))% of the machine's CPU)") }
            let live = model.inferenceCopy(matrices: .bf16)
            let settings = try! LoRAConfiguration(rank: 16, alpha: 32, dropout: 0, targetModules: ["all-linear"])
            let fresh = LoRAAdapters(configuration: settings, model: config, seed: 1)
            let tensors = fresh.parameters.sorted { $0.key < $1.key }.enumerated().reduce(into: [String: Tensor]()) { result, entry in
                result[entry.element.key] = entry.element.key.contains("lora_B")
                    ? Tensor.randomNormal(entry.element.value.shape, std: 0.01, seed: UInt64(entry.offset)) : entry.element.value
            }
            try! live.attachAdapters(try! LoRAAdapters(configuration: settings, model: config, parameters: tensors))
            let merged = live.mergingAdapters()
            let sampled = SamplingParameters(temperature: 0.7, topP: 0.95)
            for batch in [1, 6] {
                var step: [String: Double] = [:]
                for (label, weights) in [("merged", merged), ("live adapters", live)] {
                    let result = Bench.decode(model: weights, batch: batch, promptLength: 64, newTokens: newTokens, sampling: sampled, reps: reps)
                    step[label] = result.stepSeconds
                    print("decode bf16 batch \(batch), \(label): \(f(result.endToEndTokensPerSecond)) tokens/s end to end, "
                          + "step \(f(result.stepSeconds * 1e3, 2)) ms (forward \(f(result.forwardSeconds * 1e3, 2)))")
                }
                print("  live adapters / merged step time, batch \(batch): \(f(step["live adapters"]! / step["merged"]!, 3))")
            }
        }
        if suites.contains("sampler") {
            // Sampling alone on the rows of one batch-6 decode step's logits.
            let cache = KVCache(config: config, batch: 6, capacity: 65)
            let logits = try! model.forward(tokens: Bench.randomIDs(6 * 64, vocab: config.vocabSize, seed: 3), cache: cache).toFloatArray()
            for parameters in [SamplingParameters(temperature: 0.7, topP: 0.95), .greedy] {
                let sampler = TokenSampler(parameters)
                let perRow = (0..<6).map { row in
                    logits.withUnsafeBufferPointer { all in
                        let rowLogits = UnsafeBufferPointer(rebasing: all[row * config.vocabSize..<(row + 1) * config.vocabSize])
                        return Bench.median((0..<9).map { step in
                            Bench.seconds { _ = try! sampler.sample(logits: rowLogits, history: [], seed: 1, step: UInt64(step)) }
                        })
                    }
                }
                print("sampler T=\(parameters.temperature) top-p \(parameters.topP): ms per row " + perRow.map { f($0 * 1e3, 2) }.joined(separator: ", "))
            }
        }
        if suites.contains("paged-decode") {
            // One long prompt's GRPO group decoded through the contiguous cache (rows copied per
            // sample) and the paged one (prompt blocks shared): KV bytes and decode step time.
            let contention = Contention()
            defer { print("  (paged-decode: other processes used \(f(contention.foreignFraction * 100, 0))% of the machine's CPU)") }
            let promptLength = Int(value("--prompt") ?? "") ?? 1024
            for samples in [6, 16] {
                let r = Bench.pagedDecode(model: model, promptLength: promptLength, samples: samples, newTokens: 16, blockSize: 16, reps: reps)
                print("paged-decode G=\(samples), prompt \(promptLength), 16 new tokens: KV \(f(Double(r.contiguousBytes) / 1e6, 1)) MB contiguous, "
                      + "\(f(Double(r.pagedBytes) / 1e6, 1)) MB paged; decode step \(f(r.contiguousStep * 1e3, 1)) ms contiguous "
                      + "(\(f(Double(samples) / r.contiguousStep, 1)) tokens/s), \(f(r.pagedStep * 1e3, 1)) ms paged "
                      + "(\(f(Double(samples) / r.pagedStep, 1)) tokens/s); last logits differ by \(r.logitDifference)")
            }
        }
        if suites.contains("prefill") {
            let contention = Contention()
            defer { print("  (prefill: other processes used \(f(contention.foreignFraction * 100, 0))% of the machine's CPU)") }
            let (batch, length, cachedLength) = isMini ? (6, 256, 256) : (1, 512, 512)
            let seconds = Bench.prefill(model: model, batch: batch, length: length, reps: reps)
            print("prefill \(batch)x\(length) (logits for every position): \(f(seconds, 3)) s, \(f(Double(batch * length) / seconds, 0)) tokens/s")
            let last = Bench.prefillCached(model: model, batch: 1, length: cachedLength, reps: reps)
            print("prefill 1x\(cachedLength) into a KV cache (last logits): \(f(last, 3)) s, \(f(Double(cachedLength) / last, 0)) tokens/s")
        }
        if suites.contains("train") && !isMini {
            print("training step: skipped for \(modelName) (memory)")
        } else if suites.contains("train") {
            let contention = Contention()
            defer { print("  (train: other processes used \(f(contention.foreignFraction * 100, 0))% of the machine's CPU)") }
            for precision in precisions {
                let split = Bench.trainingStep(model: model, batch: 6, length: 512, reps: max(1, min(reps, 3)), precision: precision)
                print("training step 6x512 + AdamW, \(precision) products: \(f(split.total, 2)) s (\(f(3072 / split.total, 0)) tokens/s): "
                      + "forward+backward \(f(split.gradient, 2)) s, AdamW \(f(split.optimizer, 2)) s")
            }
        }
    }
}

/// `value` with `digits` decimals (no Foundation formatting).
func f(_ value: Double, _ digits: Int = 1) -> String { Bench.fixed(value, digits: digits) }

/// CPU time other processes used while a suite ran, as a fraction of the machine's capacity
/// (0 = this benchmark had every core to itself), like the peer script's `foreign_cpu_frac`.
struct Contention {
    private let start: (busy: Double, own: Double, wall: ContinuousClock.Instant)

    init() { start = (Contention.machineBusySeconds(), Contention.ownSeconds(), .now) }

    var foreignFraction: Double {
        let busy = Contention.machineBusySeconds() - start.busy, own = Contention.ownSeconds() - start.own
        let elapsed = ContinuousClock.now - start.wall
        let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return max(0, busy - own) / max(1e-9, wall * Double(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Busy CPU seconds of the whole machine (all but idle and iowait in /proc/stat).
    private static func machineBusySeconds() -> Double {
        guard let file = fopen("/proc/stat", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 512)
        guard fgets(&line, 512, file) != nil else { return 0 }
        let fields = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .split(separator: " ").dropFirst().prefix(8).compactMap { Double($0) }
        guard fields.count == 8 else { return 0 }
        return (fields.reduce(0, +) - fields[3] - fields[4]) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// CPU seconds this process used.
    private static func ownSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6
    }
}

enum Bench {
    /// `value` with `digits` decimals.
    static func fixed(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (abs(value) * scale).rounded()
        let whole = Int(rounded / scale), fraction = Int(rounded.truncatingRemainder(dividingBy: scale))
        var text = (value < 0 && rounded > 0 ? "-" : "") + "\(whole)"
        if digits > 0 {
            let fractionText = "\(fraction)"
            text += "." + String(repeating: "0", count: digits - fractionText.count) + fractionText
        }
        return text
    }

    static func seconds(_ body: () -> Void) -> Double {
        let start = ContinuousClock.now
        body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// Streaming read bandwidth in GB/s: sums a 1 GiB buffer (2 MiB aligned, huge pages
    /// requested, as the CPU backend allocates weights) on `threads` dedicated threads, each over
    /// its own slice, all starting together; a pass lasts until the slowest thread is done.
    /// Median of `reps` passes after a warm-up.
    static func readBandwidth(threads: Int, reps: Int) -> Double {
        let bytes = 1 << 30
        var raw: UnsafeMutableRawPointer?
        precondition(posix_memalign(&raw, 2 << 20, bytes) == 0)
        #if os(Linux)
        _ = madvise(raw, bytes, 14 /* MADV_HUGEPAGE */)
        #endif
        let count = bytes / MemoryLayout<SIMD16<Float>>.stride
        let vectors = raw!.bindMemory(to: SIMD16<Float>.self, capacity: count)
        vectors.initialize(repeating: SIMD16(repeating: 1), count: count)
        defer { free(raw) }
        let shared = SendablePointers(vectors: vectors, sink: .allocate(capacity: threads))
        defer { shared.sink.deallocate() }
        var times: [Double] = []
        for _ in 0..<(reps + 1) {
            // Dedicated threads: a thread pool may run two slices one after the other.
            let arrived = Atomic<Int>(0), finished = Atomic<Int>(0)
            let clock = ContinuousClock()
            let start = Mutex<ContinuousClock.Instant?>(nil)
            for t in 0..<threads {
                let thread = Thread {
                    arrived.add(1, ordering: .acquiringAndReleasing)
                    while arrived.load(ordering: .acquiring) < threads {}
                    start.withLock { if $0 == nil { $0 = clock.now } }
                    var a = SIMD16<Float>(), b = SIMD16<Float>(), c = SIMD16<Float>(), d = SIMD16<Float>()
                    var i = count * t / threads
                    let end = count * (t + 1) / threads
                    while i + 4 <= end {
                        a += shared.vectors[i]; b += shared.vectors[i + 1]; c += shared.vectors[i + 2]; d += shared.vectors[i + 3]
                        i += 4
                    }
                    shared.sink[t] = (a + b + c + d).sum()
                    finished.add(1, ordering: .acquiringAndReleasing)
                }
                thread.start()
            }
            while finished.load(ordering: .acquiring) < threads { usleep(50) }
            let began = start.withLock { $0! }
            let elapsed = began.duration(to: clock.now)
            times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        return Double(bytes) / median(Array(times.dropFirst())) / 1e9
    }

    struct SendablePointers: @unchecked Sendable {
        let vectors: UnsafeMutablePointer<SIMD16<Float>>
        let sink: UnsafeMutablePointer<Float>
    }

    /// Bytes of weights one decode step reads: every projection and the LM head (one embedding
    /// row is negligible); norms and biases stay f32.
    static func weightBytesPerStep(_ c: ModelConfig, bytesPerWeight: Int) -> Int {
        let kv = c.numKeyValueHeads * c.headDim, q = c.numAttentionHeads * c.headDim
        let layer = c.hiddenSize * (q + 2 * kv) + q * c.hiddenSize + 3 * c.hiddenSize * c.intermediateSize
        return (c.numHiddenLayers * layer + c.vocabSize * c.hiddenSize) * bytesPerWeight
    }

    /// Random token ids (SplitMix64).
    static func randomIDs(_ count: Int, vocab: Int, seed: UInt64) -> [Int32] {
        var state = seed
        return (0..<count).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int32(truncatingIfNeeded: (z ^ (z >> 31)) % UInt64(vocab))
        }
    }

    struct DecodeResult {
        /// Tokens per second including the prompt's prefill (as the peer's `gen_tokens_per_s`).
        var endToEndTokensPerSecond: Double
        /// Median seconds of one decode step and its parts.
        var stepSeconds: Double
        var forwardSeconds: Double
        var copySeconds: Double
        var samplingSeconds: Double
    }

    /// A hand-written decode loop like the peer's: prefill `promptLength` random tokens per row,
    /// then `newTokens` sampled tokens with the KV cache; parts of each step timed separately.
    static func decode(model: DecoderModel, batch: Int, promptLength: Int, newTokens: Int,
                       sampling: SamplingParameters, reps: Int) -> DecodeResult {
        let vocab = model.config.vocabSize
        let sampler = TokenSampler(sampling)
        var totals: [Double] = [], forward: [Double] = [], copy: [Double] = [], sample: [Double] = []
        // Inputs and caches below are built to fit the model: forward cannot refuse them (hence try!).
        for rep in 0..<(reps + 1) {
            let prompt = randomIDs(batch * promptLength, vocab: vocab, seed: UInt64(rep))
            let cache = KVCache(config: model.config, batch: batch, capacity: promptLength + newTokens)
            var stepForward: [Double] = [], stepCopy: [Double] = [], stepSample: [Double] = []
            let total = seconds {
                var logitsTensor = try! model.forward(tokens: prompt, cache: cache)
                for step in 0..<newTokens {
                    var logits: [Float] = []
                    stepCopy.append(seconds { logits = logitsTensor.toFloatArray() })
                    var tokens = [Int32](repeating: 0, count: batch)
                    stepSample.append(seconds {
                        tokens = logits.withUnsafeBufferPointer { all in
                            try! sampler.sample(rows: all, vocab: vocab, histories: [[Int32]](repeating: [], count: batch),
                                           seeds: (0..<batch).map { UInt64($0) }, step: UInt64(step)).map(\.token)
                        }
                    })
                    if step + 1 < newTokens {
                        stepForward.append(seconds { logitsTensor = try! model.forward(tokens: tokens, cache: cache) })
                    }
                }
            }
            if rep == 0 { continue }  // warm-up
            totals.append(total)
            forward.append(median(stepForward))
            copy.append(median(stepCopy))
            sample.append(median(stepSample))
        }
        let parts = (median(forward), median(copy), median(sample))
        return DecodeResult(endToEndTokensPerSecond: Double(batch * newTokens) / median(totals),
                            stepSeconds: parts.0 + parts.1 + parts.2, forwardSeconds: parts.0,
                            copySeconds: parts.1, samplingSeconds: parts.2)
    }

    /// Seconds for logits at every position of `batch x length` random tokens.
    static func prefill(model: DecoderModel, batch: Int, length: Int, reps: Int) -> Double {
        let ids = Tensor(randomIDs(batch * length, vocab: model.config.vocabSize, seed: 9), shape: [batch, length])
        var times: [Double] = []
        for _ in 0..<(reps + 1) {
            times.append(seconds { withoutGradients { _ = try! model.logits(inputIDs: ids).toFloatArray().count } })
        }
        return median(Array(times.dropFirst()))
    }

    /// Seconds to prefill `batch x length` tokens into a KV cache (last position's logits only,
    /// as llama.cpp's pp256 does).
    static func prefillCached(model: DecoderModel, batch: Int, length: Int, reps: Int) -> Double {
        let ids = randomIDs(batch * length, vocab: model.config.vocabSize, seed: 11)
        var times: [Double] = []
        for _ in 0..<(reps + 1) {
            let cache = KVCache(config: model.config, batch: batch, capacity: length)
            times.append(seconds { _ = try! model.forward(tokens: ids, cache: cache).toFloatArray().count })
        }
        return median(Array(times.dropFirst()))
    }

    /// One training step: forward and backward of the mean token log-prob over the last
    /// `length` tokens of `batch` rows of `length + 1`, then AdamW, with f32 products at
    /// `precision`; median seconds of the parts.
    static func trainingStep(model: DecoderModel, batch: Int, length: Int, reps: Int,
                             precision: MatmulPrecision) -> (total: Double, gradient: Double, optimizer: Double) {
        let training = model.copy()
        let ids = Tensor(randomIDs(batch * (length + 1), vocab: model.config.vocabSize, seed: 5), shape: [batch, length + 1])
        let optimizer = AdamW()
        var gradientTimes: [Double] = [], optimizerTimes: [Double] = []
        for rep in 0..<(reps + 1) {
            var gradients: [String: Tensor] = [:]
            let g = seconds {
                // The shapes are built above to fit: the scoring cannot refuse them.
                let (loss, grads) = MatmulPrecision.withValue(precision) {
                    valueAndGrad(at: training.parameters) {
                        -(try! training.tokenLogProbs(inputIDs: ids, lastTokens: length)).mean()
                    }
                }
                _ = loss.item()
                gradients = grads
            }
            let o = seconds { optimizer.update(training.parameters, gradients: gradients, learningRate: 1e-6) }
            if rep > 0 || reps == 1 { gradientTimes.append(g); optimizerTimes.append(o) }
        }
        let (g, o) = (median(gradientTimes), median(optimizerTimes))
        return (g + o, g, o)
    }
}
