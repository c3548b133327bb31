import FoundationEssentials
import RLModel
import RLReasoning
import RLTensor

/// An open-r1 style YAML recipe (the keys of Open-RS `recipes/grpo.yaml`) read into a
/// `GRPOConfiguration`, with command-line overrides.
///
/// A recipe starts from `GRPOConfiguration.openRS`: a key it leaves out keeps the Open-RS value
/// (e.g. `beta` 0.04, `reward_funcs` format and cosine weighted 1 and 2), as the README's tables
/// document, not the neutral `GRPOConfiguration()`. Its configuration names settings by recipe key
/// in errors (`settingNames` is `.recipe`).
///
/// Keys that have no meaning here (vLLM, Hub, logging back ends, DeepSpeed) are accepted and
/// listed in `ignored`; unknown keys are listed in `warnings`, never dropped silently.
public struct Recipe: Sendable {
    public var configuration: GRPOConfiguration
    /// `model_name_or_path` and `dataset_name` as the recipe gives them (the command line may override).
    public var modelNameOrPath: String?
    public var datasetName: String?
    public var outputDirectory: String?
    /// LoRA adapters to train instead of all weights (`use_peft: true`), with TRL's keys and
    /// defaults: `lora_r` 16, `lora_alpha` 32, `lora_dropout` 0.05, `lora_target_modules`
    /// q_proj,v_proj (PEFT's default for these families; `all-linear` for every projection),
    /// `use_rslora` false. Nil trains all weights.
    public var lora: LoRAConfiguration?
    /// How the frozen base weights are held under LoRA (`torch_dtype`: bfloat16, the default, or
    /// float32). Full fine-tuning always trains f32 weights.
    public var loraBaseWeightType: DType = .bf16
    /// Recognised keys that do not apply to this implementation.
    public var ignored: [String]
    /// Keys nobody knows: probably typos.
    public var warnings: [String]

    /// Keys accepted for compatibility that change nothing here.
    static let inertKeys: Set<String> = [
        "model_revision", "attn_implementation", "fp16", "use_vllm", "vllm_device",
        "vllm_enforce_eager", "vllm_gpu_memory_utilization", "vllm_max_model_len", "vllm_dtype", "vllm_enable_prefix_caching",
        "do_eval", "eval_strategy", "hub_model_id", "hub_strategy", "push_to_hub", "report_to", "log_level",
        "logging_first_step", "logging_strategy", "save_strategy", "per_device_eval_batch_size",
        "num_train_epochs", "gradient_checkpointing_kwargs", "dataset_config", "dataset_train_split", "dataset_test_split",
        "use_liger_kernel", "deepspeed", "ddp_timeout", "sync_ref_model", "wandb_project", "wandb_entity", "callbacks",
        "chat_template", "benchmarks", "num_processes",
    ]

    /// Reads the YAML recipe at `url` (if any) and applies `overrides` (recipe key → value text,
    /// e.g. from `--learning_rate 2e-6`; later entries win).
    public init(contentsOf url: URL?, overrides: [(key: String, value: String)] = []) throws {
        var entries: [(String, RecipeValue)] = []
        if let url {
            let text: String
            do { text = try String(contentsOf: url, encoding: .utf8) } catch {
                throw TrainingError.invalidSetting(key: url.path, reason: "cannot read the recipe: \(fileErrorText(error))")
            }
            do { entries = try RecipeYAML.parse(text) } catch {
                throw TrainingError.invalidSetting(key: url.path, reason: "\(error)")
            }
        }
        for (key, value) in overrides {
            let parsed = (try? RecipeYAML.scalar(value, line: 0)) ?? .string(value)
            entries.append((String(key.map { $0 == "-" ? "_" : $0 }), parsed))
        }
        try self.init(entries: entries)
    }

    /// Builds the configuration from parsed entries.
    public init(entries: [(String, RecipeValue)]) throws {
        configuration = .openRS
        configuration.settingNames = .recipe
        ignored = []
        warnings = []
        for (key, value) in entries { try apply(key: key, value: value) }
        try configuration.validate()
        if loraSettings.usePEFT {
            do {
                lora = try LoRAConfiguration(rank: loraSettings.rank, alpha: loraSettings.alpha, dropout: loraSettings.dropout,
                                             targetModules: loraSettings.targetModules, useRSLoRA: loraSettings.useRSLoRA)
            } catch {
                throw TrainingError.invalidSetting(key: "use_peft", reason: error.description)
            }
        } else {
            ignored += loraSettings.givenKeys  // they apply only with use_peft
        }
        if !configuration.pagedKVCache { ignored += givenKVCacheKeys }  // they apply only with paged_kv_cache
    }

    /// Whether `matmul_precision` was given (then `bf16` does not set the precision).
    private var matmulPrecisionGiven = false

    /// The `kv_cache_*` keys given, reported as ignored when `paged_kv_cache` is off.
    private var givenKVCacheKeys: [String] = []

    /// The LoRA keys as given, turned into `lora` once all keys are read.
    private var loraSettings = LoRASettings()

    private struct LoRASettings: Sendable {
        var usePEFT = false
        var rank = 16
        var alpha = 32.0
        var dropout = 0.05
        var targetModules = ["q_proj", "v_proj"]
        var useRSLoRA = false
        var givenKeys: [String] = []
    }

    private mutating func apply(key: String, value: RecipeValue) throws {
        func bad(_ expected: String) -> TrainingError { .invalidSetting(key: key, reason: "expected \(expected), got \(value)") }
        func double() throws -> Double {
            switch value {
            case .double(let d): return d
            case .int(let i): return Double(i)
            case .string(let s): if let d = Double(s) { return d }
            default: break
            }
            throw bad("a number")
        }
        func int() throws -> Int {
            switch value {
            case .int(let i): return i
            case .double(let d) where d == d.rounded() && Swift.abs(d) < 1e15: return Int(d)
            case .string(let s): if let i = Int(s) { return i }
            default: break
            }
            throw bad("an integer")
        }
        func bool() throws -> Bool {
            if case .bool(let b) = value { return b }
            throw bad("true or false")
        }
        /// One of an enum's spellings; anything else is an error listing them.
        func choice<Choice: RawRepresentable & CaseIterable>(_ type: Choice.Type) throws -> Choice where Choice.RawValue == String {
            let text = try string()
            guard let chosen = Choice(rawValue: text) else {
                throw TrainingError.invalidSetting(key: key, reason: "'\(text)' is not one of \(Choice.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return chosen
        }
        func string() throws -> String {
            switch value {
            case .string(let s): return s
            case .int(let i): return String(i)
            case .double(let d): return String(d)
            case .bool(let b): return String(b)
            default: throw bad("text")
            }
        }
        func strings() throws -> [String] {
            switch value {
            case .list(let items): return try items.map { item in
                guard case .string(let s) = item else { throw bad("a list of names") }
                return s
            }
            case .string(let s): return s.split(separator: ",").map { $0.trimmingWhitespace() }
            default: throw bad("a list")
            }
        }
        func floats() throws -> [Float] {
            let items: [RecipeValue]
            switch value {
            case .list(let list): items = list
            case .string(let s): items = s.split(separator: ",").map { RecipeValue.plain($0.trimmingWhitespace()) }
            default: throw bad("a list of numbers")
            }
            return try items.map { item in
                switch item {
                case .double(let d): return Float(d)
                case .int(let i): return Float(i)
                default: throw bad("a list of numbers")
                }
            }
        }
        var c = configuration
        switch key {
        case "model_name_or_path": modelNameOrPath = try string()
        case "dataset_name": datasetName = try string()
        case "output_dir": outputDirectory = try string()
        case "learning_rate": c.learningRate = try double()
        case "adam_beta1": c.adamBeta1 = Float(try double())
        case "adam_beta2": c.adamBeta2 = Float(try double())
        case "adam_epsilon": c.adamEpsilon = Float(try double())
        case "weight_decay": c.weightDecay = Float(try double())
        case "max_grad_norm": c.maxGradNorm = try double()
        case "lr_scheduler_type": c.lrSchedulerType = try choice(LearningRateScheduleType.self)
        case "lr_scheduler_kwargs":
            guard case .mapping(let kwargs) = value else { throw bad("a mapping") }
            for (name, v) in kwargs {
                guard name == "min_lr_rate" else { warnings.append("\(key).\(name)"); continue }
                switch v {
                case .double(let d): c.minLRRate = d
                case .int(let i): c.minLRRate = Double(i)
                default: throw TrainingError.invalidSetting(key: "\(key).min_lr_rate", reason: "expected a number, got \(v)")
                }
            }
        case "warmup_ratio": c.warmupRatio = try double()
        case "max_steps": c.maxSteps = try int()
        case "gradient_accumulation_steps": c.gradientAccumulationSteps = try int()
        case "per_device_train_batch_size": c.perDeviceTrainBatchSize = try int()
        case "gradient_checkpointing": c.gradientCheckpointing = try bool()
        case "num_generations": c.numGenerations = try int()
        case "max_prompt_length": c.maxPromptLength = try int()
        case "max_completion_length": c.maxCompletionLength = try int()
        case "temperature": c.temperature = Float(try double())
        case "top_p": c.topP = Float(try double())
        case "top_k": c.topK = try int()
        case "min_p": c.minP = Float(try double())
        case "repetition_penalty": c.repetitionPenalty = Float(try double())
        case "beta": c.beta = Float(try double())
        case "epsilon": c.epsilon = Float(try double())
        case "epsilon_high": c.epsilonHigh = Float(try double())
        case "loss_type": c.lossType = try choice(GRPOLossType.self)
        case "scale_rewards":
            if case .bool(let b) = value { c.scaleRewards = b ? .group : .none }
            else if let s = RewardScaling(rawValue: try string()) { c.scaleRewards = s }
            else { throw TrainingError.invalidSetting(key: key, reason: "use group, batch, none, true or false") }
        case "importance_sampling_level": c.importanceSamplingLevel = try choice(ImportanceSamplingLevel.self)
        case "delta": c.delta = value == .null ? nil : Float(try double())
        case "sapo_temperature_pos": c.sapoTemperaturePositive = Float(try double())
        case "sapo_temperature_neg": c.sapoTemperatureNegative = Float(try double())
        case "use_bias_correction_kl": c.useBiasCorrectionKL = try bool()
        case "top_entropy_quantile": c.topEntropyQuantile = Float(try double())
        case "multi_objective_aggregation": c.multiObjectiveAggregation = try choice(MultiObjectiveAggregation.self)
        case "dynamic_sampling": c.dynamicSampling = try bool()
        case "max_dynamic_sampling_rounds": c.maxDynamicSamplingRounds = try int()
        case "replay_buffer_size": c.replayBufferSize = try int()
        case "overlong_buffer_len": c.overlongBufferLength = try int()
        case "overlong_penalty_factor": c.overlongPenaltyFactor = Float(try double())
        case "num_iterations": c.numIterations = try int()
        case "steps_per_generation": c.stepsPerGeneration = value == .null ? nil : try int()
        case "mask_truncated_completions": c.maskTruncatedCompletions = try bool()
        case "temperature_consistent_logprobs": c.temperatureConsistentLogProbs = try bool()
        case "reward_funcs":
            c.rewardFuncs = try strings().map { text in
                guard let name = RewardName(recipeName: text) else {
                    throw TrainingError.invalidSetting(key: key, reason: "unknown reward '\(text)'; known: "
                        + RewardName.allCases.map(\.rawValue).joined(separator: ", "))
                }
                return name
            }
        case "reward_weights": c.rewardWeights = value == .null ? nil : try floats()
        case "cosine_min_value_wrong": c.cosineMinValueWrong = Float(try double())
        case "cosine_max_value_wrong": c.cosineMaxValueWrong = Float(try double())
        case "cosine_min_value_correct": c.cosineMinValueCorrect = Float(try double())
        case "cosine_max_value_correct": c.cosineMaxValueCorrect = Float(try double())
        case "cosine_max_len": c.cosineMaxLength = try int()
        case "cosine_variant":
            c.cosineVariant = try choice(CosineReward.Variant.self)
        case "repetition_n_grams": c.repetitionNGramSize = try int()
        case "repetition_max_penalty": c.repetitionMaxPenalty = Float(try double())
        case "unparseable_gold":
            c.unparseableGold = try choice(UnparseableGoldPolicy.self)
        case "system_prompt": c.systemPrompt = value == .null ? nil : try string()
        case "dataset_prompt_column", "prompt_column": c.promptColumn = try string()
        case "gold_columns": c.goldColumns = try strings()
        case "seed":
            let seed = try int()
            guard seed >= 0 else { throw bad("a non-negative integer") }
            c.seed = UInt64(seed)
        case "save_steps":
            // The trainer saves when step % save_steps == 0: 0 would trap there.
            let steps = try int()
            guard steps >= 1 else { throw bad("a positive integer") }
            c.saveSteps = steps
        case "save_total_limit": c.saveTotalLimit = try int()
        case "overwrite_output_dir": c.overwriteOutputDir = try bool()
        case "memory_check": c.memoryCheck = try bool()
        case "lean_memory": c.leanMemory = try bool()
        case "rollout_dtype": c.rolloutDtype = try choice(RolloutPrecision.self)
        case "matmul_precision":
            c.matmulPrecision = try choice(MatmulPrecision.self)
            matmulPrecisionGiven = true
        case "bf16":
            // Hugging Face's bf16 mixed precision multiplies in bf16: here bf16 products with f32
            // sums (`matmul_precision`, which wins when given).
            let mixed = try bool()
            if !matmulPrecisionGiven { c.matmulPrecision = mixed ? .bfloat16 : .float32 }
        case "zero_stage": c.zeroStage = try int()
        case "memory_limit_gib":
            let gib = try double()
            guard gib.isFinite, gib > 0, gib < Double(1 << 20) else { throw bad("a positive number of GiB") }
            c.memoryLimit = Int(gib * Double(1 << 30))
        case "logits_chunk_bytes": c.logitsChunkBytes = try int()
        case "paged_kv_cache": c.pagedKVCache = try bool()
        case "kv_cache_block_size": c.kvCacheBlockSize = try int(); givenKVCacheKeys.append(key)
        case "kv_cache_memory_fraction": c.kvCacheMemoryFraction = try double(); givenKVCacheKeys.append(key)
        case "kv_cache_max_tokens": c.kvCacheMaxTokens = value == .null ? nil : try int(); givenKVCacheKeys.append(key)
        case "use_peft": loraSettings.usePEFT = try bool()
        case "lora_r": loraSettings.rank = try int(); loraSettings.givenKeys.append(key)
        case "lora_alpha": loraSettings.alpha = try double(); loraSettings.givenKeys.append(key)
        case "lora_dropout": loraSettings.dropout = try double(); loraSettings.givenKeys.append(key)
        case "lora_target_modules": loraSettings.targetModules = try strings(); loraSettings.givenKeys.append(key)
        case "use_rslora": loraSettings.useRSLoRA = try bool(); loraSettings.givenKeys.append(key)
        case "lora_task_type":
            guard try string() == "CAUSAL_LM" else { throw bad("CAUSAL_LM") }
        case "torch_dtype":
            switch try string() {
            case "bfloat16", "bf16", "auto", "float16", "fp16": loraBaseWeightType = .bf16
            case "float32", "fp32": loraBaseWeightType = .f32
            default: throw bad("bfloat16, float32 or auto")
            }
            loraSettings.givenKeys.append(key)
        case "logging_steps": c.loggingSteps = try int()
        case "log_completions": c.logCompletions = try bool()
        default:
            if Recipe.inertKeys.contains(key) { ignored.append(key) } else { warnings.append(key) }
        }
        configuration = c
    }
}

extension Substring {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
