import FoundationEssentials
import RLModel
import RLTensor

/// What a training run's numbers depend on: the model (its weights' fingerprint when known, its
/// shape), the tokenizer, the dataset (a SHA-256 of its rows) and every setting that changes the
/// math (the optimizer, the schedule, generation, the objective, rewards, LoRA), under their
/// recipe key names. Settings that only change bookkeeping or memory use (`save_steps`,
/// `logging_steps`, `gradient_checkpointing`, `logits_chunk_bytes`, `memory_check`, ...) are not in it.
///
/// Written as `run_manifest.json` into every trainer checkpoint; `GRPOTrainer.train(output:resume:)`
/// compares it with the resuming run's and refuses a difference not named in `allowedChanges`.
public struct RunManifest: Equatable, Sendable {
    /// The file name in a checkpoint folder.
    public static let fileName = "run_manifest.json"

    /// Keys that only some runs have (the model's fingerprint, the LoRA settings).
    public static let optionalKeys: Set<String> = ["model.weights", "lora_r", "lora_alpha", "lora_dropout", "lora_target_modules", "use_rslora",
                                                   "world_size"]

    /// Key to value, as text.
    public var entries: [String: String]

    public init(entries: [String: String]) {
        self.entries = entries
    }

    /// Keys whose values differ, in name order. A key present in only one manifest counts as
    /// different, except `model.weights`, which a run without a model fingerprint leaves out
    /// (then only the model's shape is compared). `per_device_train_batch_size` and `world_size`
    /// (absent: 1) count only through their product, the batch of all ranks together: a run of N
    /// ranks with batch b continues one of M ranks with batch N·b/M.
    public func differences(from other: RunManifest) -> [String] {
        let sameBatch = globalBatchSize == other.globalBatchSize
        return Set(entries.keys).union(other.entries.keys).sorted().filter { key in
            if key == "model.weights" && (entries[key] == nil || other.entries[key] == nil) { return false }
            if key == "world_size" { return false }
            if key == "per_device_train_batch_size" { return !sameBatch }
            return entries[key] != other.entries[key]
        }
    }

    /// Completions per micro-step of all ranks together.
    var globalBatchSize: Int? {
        guard let perDevice = entries["per_device_train_batch_size"].flatMap({ Int($0) }) else { return nil }
        return perDevice * (entries["world_size"].flatMap { Int($0) } ?? 1)
    }

    /// The manifest stored in `folder`, or nil when it has none (a checkpoint of an earlier version).
    static func read(from folder: URL) throws -> RunManifest? {
        let url = folder.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TrainingError.checkpoint(path: url.path, reason: "cannot be read")
        }
        guard let entries = try? JSONDecoder().decode([String: String].self, from: data) else {
            throw TrainingError.checkpoint(path: url.path, reason: "is not a run manifest (a JSON object of strings)")
        }
        return RunManifest(entries: entries)
    }

    func write(to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(entries).write(to: folder.appendingPathComponent(Self.fileName), options: .atomic)
    }

    /// One line describing the differing `keys` between `stored` (the checkpoint's) and this
    /// manifest, e.g. `learning_rate 0.001 -> 0.002, dataset (changed)`.
    func describe(_ keys: [String], stored: RunManifest) -> String {
        keys.map { key in
            if key == "per_device_train_batch_size" && (entries["world_size"] ?? stored.entries["world_size"]) != nil {
                func batch(_ m: RunManifest) -> String { "\(m.entries[key] ?? "unset")×\(m.entries["world_size"] ?? "1")" }
                return "per_device_train_batch_size × ranks \(batch(stored)) -> \(batch(self))"
            }
            let old = stored.entries[key] ?? "unset", new = entries[key] ?? "unset"
            if old.count > 40 || new.count > 40 || old.contains("\n") || new.contains("\n") { return "\(key) (changed)" }
            return "\(key) \(old) -> \(new)"
        }.joined(separator: ", ")
    }
}

extension GRPOTrainer {
    /// This run's manifest.
    public var manifest: RunManifest {
        let c = configuration
        var e: [String: String] = [:]
        func text<T>(_ value: T?) -> String { value.map { String(describing: $0) } ?? "none" }
        // The model.
        if let modelFingerprint { e["model.weights"] = modelFingerprint }
        let config = policy.config
        e["model.model_type"] = config.modelType
        e["model.num_hidden_layers"] = String(config.numHiddenLayers)
        e["model.hidden_size"] = String(config.hiddenSize)
        e["model.intermediate_size"] = String(config.intermediateSize)
        e["model.num_attention_heads"] = String(config.numAttentionHeads)
        e["model.num_key_value_heads"] = String(config.numKeyValueHeads)
        e["model.vocab_size"] = String(config.vocabSize)
        var shapes = SHA256()
        var types = Set<String>()
        for (name, tensor) in policy.parameters.sorted(by: { $0.key < $1.key }) {
            shapes.update("\(name):\(tensor.shape.map(String.init).joined(separator: "x"))\n")
            types.insert(String(describing: tensor.dtype))
        }
        e["model.tensors"] = shapes.hexDigest()
        e["model.weight_types"] = types.sorted().joined(separator: ",")
        var tokenizerHash = SHA256()
        tokenizerHash.update("\(tokenizer.vocabularySize)\u{0}\(text(tokenizer.eosTokenID))\u{0}\(text(tokenizer.padTokenID))\u{0}")
        tokenizerHash.update(tokenizer.chatTemplate ?? "")
        e["tokenizer"] = tokenizerHash.hexDigest()
        // The data.
        var rows = SHA256()
        for row in dataset.rows {
            for (key, value) in row.sorted(by: { $0.key < $1.key }) { rows.update("\(key)\u{0}\(value)\u{0}") }
            rows.update("\u{1}")
        }
        e["dataset"] = rows.hexDigest()
        e["dataset.rows"] = String(dataset.rows.count)
        // The settings, under their recipe keys.
        e["learning_rate"] = text(c.learningRate)
        e["adam_beta1"] = text(c.adamBeta1)
        e["adam_beta2"] = text(c.adamBeta2)
        e["adam_epsilon"] = text(c.adamEpsilon)
        e["weight_decay"] = text(c.weightDecay)
        e["max_grad_norm"] = text(c.maxGradNorm)
        e["lr_scheduler_type"] = c.lrSchedulerType.rawValue
        e["min_lr_rate"] = text(c.minLRRate)
        e["warmup_ratio"] = text(c.warmupRatio)
        e["max_steps"] = text(c.maxSteps)
        e["gradient_accumulation_steps"] = text(c.gradientAccumulationSteps)
        e["per_device_train_batch_size"] = text(c.perDeviceTrainBatchSize)
        if collective.worldSize > 1 { e["world_size"] = text(collective.worldSize) }
        e["num_generations"] = text(c.numGenerations)
        e["max_prompt_length"] = text(c.maxPromptLength)
        e["max_completion_length"] = text(c.maxCompletionLength)
        e["temperature"] = text(c.temperature)
        e["top_p"] = text(c.topP)
        e["top_k"] = text(c.topK)
        e["min_p"] = text(c.minP)
        e["repetition_penalty"] = text(c.repetitionPenalty)
        e["beta"] = text(c.beta)
        e["epsilon"] = text(c.epsilon)
        e["epsilon_high"] = text(c.epsilonHigh)
        e["loss_type"] = c.lossType.rawValue
        e["importance_sampling_level"] = c.importanceSamplingLevel.rawValue
        e["delta"] = text(c.delta)
        e["sapo_temperature_pos"] = text(c.sapoTemperaturePositive)
        e["sapo_temperature_neg"] = text(c.sapoTemperatureNegative)
        e["use_bias_correction_kl"] = text(c.useBiasCorrectionKL)
        e["top_entropy_quantile"] = text(c.topEntropyQuantile)
        e["multi_objective_aggregation"] = c.multiObjectiveAggregation.rawValue
        e["dynamic_sampling"] = text(c.dynamicSampling)
        e["max_dynamic_sampling_rounds"] = text(c.maxDynamicSamplingRounds)
        e["overlong_buffer_len"] = text(c.overlongBufferLength)
        e["overlong_penalty_factor"] = text(c.overlongPenaltyFactor)
        e["scale_rewards"] = c.scaleRewards.rawValue
        e["num_iterations"] = text(c.numIterations)
        e["steps_per_generation"] = text(c.stepsPerGeneration ?? c.gradientAccumulationSteps)
        e["replay_buffer_size"] = text(c.replayBufferSize)
        e["mask_truncated_completions"] = text(c.maskTruncatedCompletions)
        e["temperature_consistent_logprobs"] = text(c.temperatureConsistentLogProbs)
        e["reward_funcs"] = rewardNames.joined(separator: ",")
        // "none": 1 each (as runs before custom rewards had weights wrote it).
        e["reward_weights"] = c.rewardWeights == nil && builder.weights.allSatisfy({ $0 == 1 })
            ? "none" : builder.weights.map { String(describing: $0) }.joined(separator: ",")
        e["cosine_min_value_wrong"] = text(c.cosineMinValueWrong)
        e["cosine_max_value_wrong"] = text(c.cosineMaxValueWrong)
        e["cosine_min_value_correct"] = text(c.cosineMinValueCorrect)
        e["cosine_max_value_correct"] = text(c.cosineMaxValueCorrect)
        e["cosine_max_len"] = text(c.cosineMaxLength)
        e["cosine_variant"] = c.cosineVariant.rawValue
        e["repetition_n_grams"] = text(c.repetitionNGramSize)
        e["repetition_max_penalty"] = text(c.repetitionMaxPenalty)
        e["unparseable_gold"] = c.unparseableGold.rawValue
        e["system_prompt"] = c.systemPrompt ?? "none"
        e["prompt_column"] = c.promptColumn
        e["gold_columns"] = c.goldColumns.joined(separator: ",")
        e["seed"] = text(c.seed)
        e["lean_memory"] = text(c.leanMemory)
        // Recorded only when set, so checkpoints from before the setting existed still resume.
        if c.rolloutDtype != .auto { e["rollout_dtype"] = c.rolloutDtype.rawValue }
        if c.matmulPrecision != .float32 { e["matmul_precision"] = c.matmulPrecision.rawValue }
        if let lora = policy.adapters?.configuration {
            e["use_peft"] = "true"
            e["lora_r"] = text(lora.rank)
            e["lora_alpha"] = text(lora.alpha)
            e["lora_dropout"] = text(lora.dropout)
            e["lora_target_modules"] = lora.targetModules.joined(separator: ",")
            e["use_rslora"] = text(lora.useRSLoRA)
        } else {
            e["use_peft"] = "false"
        }
        return RunManifest(entries: e)
    }
}
