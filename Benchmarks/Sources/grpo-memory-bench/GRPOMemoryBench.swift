import FoundationEssentials
import RLModel
import RLReasoning
import RLTensor
#if canImport(Glibc)
import Glibc
#endif

/// One GRPO step of the trainer on the DeepSeek-R1-Distill-Qwen-1.5B shapes (random weights):
/// 1 prompt of 64 tokens x G = 6 completions of 256 tokens, beta 0.04 (the reference is the base
/// with the adapters off), gradient checkpointing, AdamW — with LoRA r = 16 (alpha 32, dropout
/// 0.05) on all linear layers over a bf16 base (`--mode lora`), or all weights in the lean mode
/// (`--mode lean`: f32 weights, bf16 gradient accumulators and AdamW moments, bf16 reference).
/// Prints the memory plan, then each step's time and the process's peak RSS during the steps
/// (VmHWM, reset after the setup) beside the plan.
///
///     swift run -c release grpo-memory-bench [--mode lora|lean] [--steps 2] [--completion 256] [--group 6] [--rank 16]
///
/// The tokenizer is the repository's Qwen2 tokenizer with DeepSeek-R1-Distill's chat template
/// (Tests/Fixtures). Peer: `peer/peer_torch.py --suite lora15b` (PyTorch + transformers + PEFT).
@main
struct GRPOMemoryBench {
    static func main() throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        func value(_ flag: String, _ fallback: Int) -> Int {
            arguments.firstIndex(of: flag).flatMap { arguments.indices.contains($0 + 1) ? Int(arguments[$0 + 1]) : nil } ?? fallback
        }
        let steps = value("--steps", 2), completion = value("--completion", 256), group = value("--group", 6)
        let rank = value("--rank", 16), promptLength = 64
        let lean = arguments.firstIndex(of: "--mode").map { arguments.indices.contains($0 + 1) && arguments[$0 + 1] == "lean" } ?? false
        let config = ModelConfig(vocabSize: 151_936, hiddenSize: 1536, intermediateSize: 8960, numHiddenLayers: 28,
                                 numAttentionHeads: 12, numKeyValueHeads: 2, maxPositionEmbeddings: 4096)
        print("grpo-memory-bench: 1.5B shapes, \(lean ? "lean full fine-tuning" : "LoRA r=\(rank) all-linear over bf16"), 1 prompt x \(group) x \(completion) tokens, "
              + "\(sysconf(Int32(_SC_NPROCESSORS_ONLN))) cores")
        print("BLAS: \(CPUBackend.shared.blas)")

        let tokenizer = try repositoryTokenizer()
        let policy: DecoderModel
        if lean {
            policy = DecoderModel(randomWeights: config, seed: 0)
        } else {
            policy = DecoderModel(randomWeights: config, seed: 0).inferenceCopy(matrices: .bf16)
            let lora = try LoRAConfiguration(rank: rank, alpha: Double(2 * rank), dropout: 0.05, targetModules: ["all-linear"])
            try policy.attachAdapters(LoRAAdapters(configuration: lora, model: config, seed: 1))
        }

        var c = GRPOConfiguration()
        c.learningRate = 1e-5
        c.warmupRatio = 0
        c.maxSteps = steps
        c.gradientAccumulationSteps = 1
        c.numGenerations = group
        c.perDeviceTrainBatchSize = group
        c.maxPromptLength = promptLength
        c.maxCompletionLength = completion
        c.temperature = 0.7
        c.beta = 0.04
        c.gradientCheckpointing = true
        c.systemPrompt = nil
        c.rewardWeights = nil
        c.seed = 3
        c.leanMemory = lean
        // Lean runs sit near 22 GiB: score logits 64 MiB at a time (the default is 256 MiB).
        if lean { c.logitsChunkBytes = 64 << 20 }
        // Long enough to be cut to exactly `promptLength` tokens (the plan assumes full prompts).
        let question = String(repeating: "Find all real numbers x such that the sum of the squares of the roots is twelve. ", count: 8)
        let dataset = try PromptDataset(rows: [["problem": question, "answer": "12"]])
        let trainer = try GRPOTrainer(configuration: c, policy: policy, tokenizer: tokenizer, dataset: dataset,
                                      rewards: [CharacterSumReward()])
        trainer.log = { print("  \($0)") }
        let plan = MemoryPlan(policy: policy, configuration: c)
        print(plan.table())

        // The random f32 initialisation's freed buffers: a run loading its weights has none.
        HostMemory.releaseCachedBuffers()
        resetPeakRSS()
        HostMemory.resetPeak()
        let baseline = residentBytes("VmRSS")
        print("resident after the setup: \(MemoryPlanFormat.gib(baseline)) (tensors \(MemoryPlanFormat.gib(HostMemory.liveBytes)))")
        for step in 1...steps {
            let started = monotonicSeconds()
            let metrics = try trainer.trainStep()
            print("step \(step): \(fixed(monotonicSeconds() - started)) s (generation \(fixed(metrics.generationSeconds)) s, "
                  + "scoring + training \(fixed(metrics.trainingSeconds)) s); mean completion \(fixed(metrics.completionLength)) tokens; "
                  + "peak RSS so far \(MemoryPlanFormat.gib(residentBytes("VmHWM")))")
        }
        let peak = residentBytes("VmHWM")
        print("tensors alive at once during the steps (HostMemory): \(MemoryPlanFormat.gib(HostMemory.peakBytes))")
        print("resident before the steps: \(MemoryPlanFormat.gib(baseline)); peak RSS during the steps: \(MemoryPlanFormat.gib(peak)); "
              + "plan: \(MemoryPlanFormat.gib(plan.peakBytes)) (measured / plan = \(fixed(Double(peak) / Double(plan.peakBytes), 3)))")
    }

    /// The repository's Qwen2 tokenizer files with DeepSeek-R1-Distill-Qwen-1.5B's tokenizer_config.json.
    static func repositoryTokenizer() throws -> Tokenizer {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("grpo-memory-bench-tokenizer-\(getpid())")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for file in ["vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(at: root.appendingPathComponent("Tests/Fixtures/tokenizer/qwen2/" + file),
                                             to: folder.appendingPathComponent(file))
        }
        // The model's added tokens (ids 151643...; Tests/Fixtures/README.md), which vocab.json lacks.
        let added = ["<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<｜begin▁of▁sentence｜>", "<|EOT|>", "<think>", "</think>"]
        let entries = added.enumerated().map { offset, content in
            "\"\(151_643 + offset)\": {\"content\": \"\(content)\", \"special\": \(offset == 0 || offset == 3)}"
        }
        let config = String(decoding: try Data(contentsOf: root.appendingPathComponent(
            "Tests/Fixtures/model-configs/deepseek-r1-distill-qwen-1.5b/tokenizer_config.json")), as: UTF8.self)
        let brace = config.firstIndex(of: "{")!
        let patched = String(config[...brace]) + "\"added_tokens_decoder\": {" + entries.joined(separator: ", ") + "},"
            + String(config[config.index(after: brace)...])
        try Data(patched.utf8).write(to: folder.appendingPathComponent("tokenizer_config.json"))
        return try Tokenizer(directory: folder)
    }

    /// A reward that differs between completions, so the step has a gradient to follow.
    struct CharacterSumReward: PerCompletionReward {
        let name = "character_sum"
        func score(completion: String, tokenCount: Int, row: [String: String]) -> Float? {
            Float(completion.unicodeScalars.reduce(0) { $0 + Int($1.value) } % 7)
        }
    }

    /// Resets the kernel's peak-RSS mark (VmHWM) of this process.
    static func resetPeakRSS() {
        guard let file = fopen("/proc/self/clear_refs", "w") else { return }
        fputs("5", file)
        fclose(file)
    }

    /// A `/proc/self/status` field in bytes.
    static func residentBytes(_ key: String) -> Int {
        guard let data = FileManager.default.contents(atPath: "/proc/self/status") else { return 0 }
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix(key + ":") }
        return (line?.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { Int($0) } ?? 0) * 1024
    }

    static func fixed(_ value: Double, _ digits: Int = 2) -> String {
        var buffer = [CChar](repeating: 0, count: 32)
        _ = withVaList([value]) { vsnprintf(&buffer, 32, "%.\(digits)f", $0) }
        return String(cString: buffer)
    }
}

enum MemoryPlanFormat {
    static func gib(_ bytes: Int) -> String { GRPOMemoryBench.fixed(Double(bytes) / Double(1 << 30)) + " GiB" }
}

