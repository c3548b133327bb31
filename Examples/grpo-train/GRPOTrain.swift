import ArgumentParser
import FoundationEssentials
import RLApp
import RLDistributed
import RLModel
import RLReasoning
import RLTensor

/// Trains a Hugging Face Qwen2 model with GRPO from an open-r1 style YAML recipe.
@main
struct GRPOTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grpo-train",
        abstract: "GRPO training with an open-r1 style recipe (the Open-RS recipe keys).",
        discussion: "Any recipe key can be given as an option and overrides the recipe, e.g. --learning_rate 2e-6 --num_generations 4.")

    @Option(help: "The YAML recipe (e.g. recipes/openrs-grpo.yaml).")
    var recipe: String?

    @Option(help: "A Hugging Face model folder (config.json, safetensors, tokenizer files).")
    var model: String

    @Option(help: "Training prompts: a JSON Lines file or a folder of them (not needed with --plan).")
    var dataset: String?

    @Option(help: "Where checkpoints, metrics.jsonl and report.html go (not needed with --plan).")
    var output: String?

    @Flag(help: "Continue from the newest complete checkpoint in --output (its run manifest must match this run's).")
    var resume = false

    @Option(help: ArgumentHelp("With --resume: run manifest keys allowed to differ from the checkpoint's (comma-separated, e.g. learning_rate,max_steps).",
                               valueName: "keys"))
    var resumeAllowChanges: String?

    @Option(help: "Stop after this many optimizer steps (overrides max_steps).")
    var maxSteps: Int?

    @Option(help: "cpu, cuda or cuda:N.")
    var backend: BackendChoice = .cpu

    @Flag(help: "With use_peft: also write <output>/merged, a plain Hugging Face folder with the trained adapters folded in.")
    var merge = false

    @Flag(help: "Print the memory plan (peak memory by part, what fits this machine) and exit; loads no weights.")
    var plan = false

    @Option(help: "Malformed dataset rows: skip (and report) or fail.")
    var onBadRow: PromptDataset.MalformedRowPolicy = .skip

    @Argument(parsing: .allUnrecognized, help: "Recipe keys as --key value pairs.")
    var overrides: [String] = []

    mutating func run() throws {
        // Started by mpirun/srun: this process is one rank of a data-parallel run.
        var collective: any Collective = SingleProcess()
        do {
            if MPICollective.launchedByMPI { collective = try MPICollective.join() }
        } catch {
            FileHandleStandardError.write("grpo-train: started by an MPI launcher, but \(error)")
            throw ExitCode.failure
        }
        do {
            try train(collective: collective)
            (collective as? MPICollective)?.finalize()
        } catch let error as ValidationError {
            throw error
        } catch {
            let rank = collective.worldSize > 1 ? "rank \(collective.rank): " : ""
            FileHandleStandardError.write("grpo-train: \(rank)\(error)")
            throw ExitCode.failure
        }
    }

    func train(collective: any Collective) throws {
        // Rank 0 alone reports; the others print nothing but errors.
        let isFirstRank = collective.rank == 0
        func print(_ line: String) { if isFirstRank { Swift.print(line) } }
        // Several ranks on GPUs: rank i of a machine uses GPU (ordinal + i), and NCCL reduces the gradients.
        var collective = collective
        let device: Device
        if let ordinal = backend.cudaOrdinal, collective.worldSize > 1 {
            device = try Device.named("cuda:\(ordinal + MPICollective.localRank)")
            collective = try NCCLCollective.join(over: collective)
        } else {
            device = try backend.device()
        }
        let badRowPolicy = onBadRow
        var pairs: [(key: String, value: String)] = []
        var index = 0
        while index < overrides.count {
            let flag = overrides[index]
            guard flag.hasPrefix("--"), index + 1 < overrides.count else {
                throw ValidationError("recipe overrides come as --key value pairs; '\(flag)' has no value")
            }
            pairs.append((String(flag.dropFirst(2)), overrides[index + 1]))
            index += 2
        }
        if let maxSteps { pairs.append(("max_steps", String(maxSteps))) }
        let parsed = try Recipe(contentsOf: recipe.map { URL(fileURLWithPath: $0) }, overrides: pairs)
        if !parsed.ignored.isEmpty { print("recipe keys with no effect here: \(parsed.ignored.joined(separator: ", "))") }
        for key in parsed.warnings where isFirstRank { FileHandleStandardError.write("warning: unknown recipe key '\(key)' (ignored; is it misspelt?)") }

        let folder = URL(fileURLWithPath: model)
        let modelConfig = try ModelConfig.load(from: folder.appendingPathComponent("config.json"))
        let memoryPlan = MemoryPlan(model: modelConfig, configuration: parsed.configuration, lora: parsed.lora,
                                    baseWeightType: parsed.loraBaseWeightType, device: device,
                                    availableBytes: MemoryPlan.availableMemory(on: device))
        if plan {
            print(memoryPlan.table())
            return
        }
        // Refused before the weights are read (the trainer checks again once they are).
        if parsed.configuration.memoryCheck && !memoryPlan.fits { throw TrainingError.insufficientMemory(plan: memoryPlan.table()) }
        try memoryPlan.checkPagedCache()
        let policy = try ModelLoader.load(from: folder, weightType: parsed.lora == nil ? .f32 : parsed.loraBaseWeightType, device: device)
        if merge && parsed.lora == nil { throw ValidationError("--merge folds LoRA adapters in; it needs use_peft: true") }
        let tokenizer = try Tokenizer(directory: folder)
        let configuration = parsed.configuration
        guard let dataset, let output else { throw ValidationError("--dataset and --output are required (only --plan runs without them)") }
        let data = try PromptDataset(contentsOf: URL(fileURLWithPath: dataset), requiredColumns: [configuration.promptColumn],
                                     onMalformedRow: badRowPolicy)
        if !data.issues.isEmpty && isFirstRank {
            FileHandleStandardError.write("skipped \(data.issues.count) malformed rows, e.g. \(data.issues.prefix(3).map(\.description).joined(separator: "; "))")
        }
        print("model \(folder.lastPathComponent): \(policy.config.numHiddenLayers) layers, hidden \(policy.config.hiddenSize); dataset \(data.rows.count) rows")
        print("GRPO: \(configuration.maxSteps) steps, \(configuration.gradientAccumulationSteps) x \(configuration.promptsPerMicroStep) prompts x \(configuration.numGenerations) completions per step, rewards \(configuration.rewardFuncs.map(\.rawValue).joined(separator: ", "))")
        if let lora = parsed.lora {
            let adapters = LoRAAdapters(configuration: lora, model: policy.config, seed: configuration.seed, device: device)
            adapters.baseModelNameOrPath = model
            try policy.attachAdapters(adapters)
            let trainable = adapters.parameters.values.reduce(0) { $0 + $1.count }
            let total = policy.parameters.values.reduce(0) { $0 + $1.count }
            print("LoRA r=\(lora.rank) alpha=\(lora.alpha) on \(lora.targetModules.joined(separator: ",")): \(trainable) trainable parameters "
                + "(base \(total), frozen, \(parsed.loraBaseWeightType))")
        }
        // generation_config.json may name end tokens the tokenizer and config.json do not (Qwen3, Llama 3).
        let generationStops = StopTokens.resolve(tokenizer: nil, config: nil, generationConfig: try StopTokens.generationConfig(in: folder))
        if collective.worldSize > 1 {
            print("data-parallel: \(collective.summary); \(configuration.perDeviceTrainBatchSize) completions per rank and micro-step, "
                + "\(configuration.perDeviceTrainBatchSize * collective.worldSize) in all")
        }
        let trainer = try GRPOTrainer(configuration: configuration, policy: policy, tokenizer: tokenizer, dataset: data,
                                      extraStopTokenIDs: generationStops, collective: collective)
        let hashing = ContinuousClock.now
        trainer.modelFingerprint = try ModelFingerprint.of(folder: folder)
        let elapsed = ContinuousClock.now - hashing
        print("model fingerprint \(trainer.modelFingerprint?.prefix(16) ?? "")... (\(elapsed.components.seconds) s; recorded in each checkpoint's run_manifest.json)")
        let outputURL = URL(fileURLWithPath: output)
        let allowed = Set((resumeAllowChanges ?? "").split(separator: ",").map { String($0.filter { $0 != " " }) }.filter { !$0.isEmpty })
        if !allowed.isEmpty && !resume { throw ValidationError("--resume-allow-changes only applies with --resume") }
        if isFirstRank { _ = TrainingRunReporter(trainer: trainer, output: outputURL) { print($0) } }
        try trainer.train(output: outputURL, resume: resume, allowedChanges: allowed)
        if merge && isFirstRank {
            let merged = outputURL.appendingPathComponent("merged")
            try? FileManager.default.removeItem(at: merged)
            try policy.mergingAdapters().save(to: merged, weightType: parsed.loraBaseWeightType)
            try tokenizer.save(to: merged)
            print("merged model: \(merged.path)")
        }
        print("done: \(output)/report.html, \(output)/metrics.jsonl")
    }
}

/// One line to standard error.
enum FileHandleStandardError {
    static func write(_ line: String) {
        var text = line
        text.append("\n")
        _ = text.withCString { Glibc.write(2, $0, strlen($0)) }
    }
}

#if canImport(Glibc)
import Glibc
#endif
