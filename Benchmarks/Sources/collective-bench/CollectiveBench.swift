import RLDistributed
import RLModel
import RLReasoning
import RLTensor
#if canImport(Glibc)
import Glibc
#endif

/// The MPI path's cost, run under `mpirun` (see `Benchmarks/collective-bench.sh`, which runs both
/// parts and writes `results/distributed.md`):
///
/// - `collective-bench allreduce`: all-reduce (f32 sum, in place) of 1–256 MiB, bus bandwidth
///   (NCCL-tests' definition: 2(N−1)/N × bytes / time) beside `memcpy` bandwidth of the same size
///   in the same process.
/// - `collective-bench grpo --batch B [--steps S]`: GRPO steps of the trainer on a small random
///   Qwen2 (hidden 256, 4 layers, byte-level vocabulary), B completions per rank and micro-step;
///   prints the median step time and the gradient all-reduce time, for the 1-rank/2-rank ratio.
@main
struct CollectiveBench {
    static func main() throws {
        let collective: any Collective = MPICollective.launchedByMPI ? try MPICollective.join() : SingleProcess()
        var arguments = Array(CommandLine.arguments.dropFirst())
        let mode = arguments.isEmpty ? "allreduce" : arguments.removeFirst()
        func option(_ name: String, _ fallback: Int) -> Int {
            guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return fallback }
            return Int(arguments[index + 1]) ?? fallback
        }
        switch mode {
        case "allreduce": try allReduce(collective)
        case "grpo": try grpoSteps(collective, batch: option("--batch", 8), steps: option("--steps", 5))
        default:
            print("usage: collective-bench allreduce | grpo --batch B [--steps S]")
            exit(2)
        }
        (collective as? MPICollective)?.finalize()
    }

    static func say(_ collective: any Collective, _ line: String) {
        if collective.rank == 0 { print(line) }
    }

    static func allReduce(_ collective: any Collective) throws {
        let n = collective.worldSize
        say(collective, "all-reduce over \(collective.summary)\n")
        say(collective, "| size | all-reduce ms | bus GB/s | memcpy GB/s | bus / memcpy |\n|---|---|---|---|---|")
        for mebibytes in [1, 4, 8, 16, 64, 256] {
            let count = mebibytes << 18
            var buffer = [Float](repeating: 1, count: count)
            var copy = [Float](repeating: 0, count: count)
            let repetitions = max(3, 64 / mebibytes)
            var times: [Double] = []
            for _ in 0...repetitions {
                try collective.barrier(label: "start")
                let started = monotonicSeconds()
                try buffer.withUnsafeMutableBytes {
                    try collective.allReduce($0.baseAddress!, count: count, element: .float32, operation: .sum, label: "\(mebibytes) MiB")
                }
                times.append(monotonicSeconds() - started)
            }
            var slowest = [times.dropFirst().sorted()[repetitions / 2]]
            try collective.allReduce(&slowest, operation: .max, label: "time")
            var copies: [Double] = []
            for _ in 0...repetitions {
                let started = monotonicSeconds()
                buffer.withUnsafeBytes { source in copy.withUnsafeMutableBytes { $0.copyMemory(from: source) } }
                copies.append(monotonicSeconds() - started)
            }
            let bytes = Double(count * 4)
            let bus = 2 * Double(n - 1) / Double(max(n, 1)) * bytes / slowest[0] / 1e9
            let memcpy = bytes / copies.dropFirst().sorted()[repetitions / 2] / 1e9
            say(collective, "| \(mebibytes) MiB | \(format(slowest[0] * 1e3)) | \(format(bus)) | \(format(memcpy)) | \(format(bus / memcpy)) |")
        }
    }

    static func grpoSteps(_ collective: any Collective, batch: Int, steps: Int) throws {
        say(collective, "BLAS: \(CPUBackend.shared.blas)")
        var vocabulary: [String: Int32] = [:]
        for (id, token) in Tokenizer.byteLevelAlphabet.enumerated() { vocabulary[token] = Int32(id) }
        let added = ["<|end|>", "<|user|>", "<|assistant|>"].enumerated().map {
            AddedToken(id: Int32(256 + $0.offset), content: $0.element, special: $0.offset == 0)
        }
        let template = "{% for m in messages %}<|user|>{{ m['content'] }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
        let tokenizer = try Tokenizer(vocabulary: vocabulary, merges: [], addedTokens: added, eosToken: "<|end|>", padToken: "<|end|>",
                                      chatTemplate: template)
        let config = ModelConfig(vocabSize: 512, hiddenSize: 256, intermediateSize: 704, numHiddenLayers: 4,
                                 numAttentionHeads: 4, numKeyValueHeads: 2, ropeTheta: 10_000)
        let policy = DecoderModel(randomWeights: config, seed: 0)
        var c = GRPOConfiguration()
        c.systemPrompt = nil
        c.beta = 0.04
        c.rewardFuncs = []  // the custom reward below
        c.numGenerations = 4
        c.perDeviceTrainBatchSize = batch
        c.gradientAccumulationSteps = 1
        c.maxPromptLength = 64
        c.maxCompletionLength = 48
        c.temperature = 1
        c.maxSteps = steps + 1
        c.memoryCheck = false
        let dataset = try PromptDataset(rows: (0..<64).map { ["problem": "Add \($0) and \($0 * 7 % 13), then say why."] })
        let trainer = try GRPOTrainer(configuration: c, policy: policy, tokenizer: tokenizer, dataset: dataset,
                                      rewards: [DigitShare()], collective: collective)
        var times: [Double] = []
        for step in 0...steps {
            try collective.barrier(label: "step")
            let started = monotonicSeconds()
            try trainer.trainStep()
            if step > 0 { times.append(monotonicSeconds() - started) }
        }
        // The gradient all-reduce alone, on tensors of the policy's trainable shapes.
        let gradients = policy.trainableParameters.sorted { $0.key < $1.key }.map { Tensor.zeros($0.value.shape) }
        var reduce: [Double] = []
        for _ in 0..<5 {
            try collective.barrier(label: "reduce")
            let started = monotonicSeconds()
            try collective.allReduce(tensors: gradients, label: "gradients")
            reduce.append(monotonicSeconds() - started)
        }
        let parameters = gradients.reduce(0) { $0 + $1.count }
        say(collective, "grpo: \(collective.worldSize) rank(s) x batch \(batch) (\(collective.worldSize * batch) completions per step), "
            + "\(parameters) parameters, threads per rank \(ProcessThreads.count)")
        say(collective, "median step s: \(format(times.sorted()[times.count / 2]))")
        say(collective, "gradient all-reduce ms: \(format(reduce.sorted()[reduce.count / 2] * 1e3))")
    }

    static func format(_ v: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 32)
        let length = withVaList([v]) { vsnprintf(&buffer, 32, "%.3f", $0) }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Share of digits in a completion (differs between completions, so every step trains).
struct DigitShare: PerCompletionReward {
    let name = "digit_share"
    func score(completion: String, tokenCount: Int, row: [String: String]) -> Float? {
        let scalars = completion.unicodeScalars
        return scalars.isEmpty ? 0 : Float(scalars.filter { $0.properties.numericType != nil }.count) / Float(scalars.count)
    }
}

/// The worker threads a rank uses (`RL_NUM_THREADS`, else every core).
enum ProcessThreads {
    static var count: Int {
        if let value = getenv("RL_NUM_THREADS").flatMap({ Int(String(cString: $0)) }) { return value }
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }
}
