import RLTensor

/// Every setting of a GRPO run; recipe keys map one to one (see RLApp's `Recipe`).
///
/// `GRPOConfiguration()` is neutral: no system prompt, no KL term (`beta` 0), the `accuracy`
/// reward alone with weight 1 (`rewardWeights` nil: 1 per reward), 256 completion tokens
/// (TRL's default) sampled at temperature 1. ``openRS`` is the paper's recipe (its system
/// prompt, `beta` 0.04, `format` + `cosine` weighted 1 and 2, 3,584 completion tokens,
/// temperature 0.7). The optimisation and batch defaults (learning rate 1e-6, cosine schedule
/// with a 10 % floor and 10 % warm-up, 500 steps, 6 completions per prompt, 6 per micro-step,
/// 4 micro-steps per step, `bnpo` loss) are Open-RS's in both.
///
/// ```swift
/// var settings = GRPOConfiguration.openRS   // the paper's recipe
/// settings.maxCompletionLength = 1024       // ... with a shorter budget
/// ```
public struct GRPOConfiguration: Sendable, Equatable {
    // MARK: optimisation
    /// `learning_rate`: AdamW's peak learning rate, in [0, 1] (default 1e-6).
    public var learningRate: Double = 1e-6
    /// `adam_beta1`: AdamW's first-moment decay, in [0, 1) (default 0.9).
    public var adamBeta1: Float = 0.9
    /// `adam_beta2`: AdamW's second-moment decay, in [0, 1) (default 0.999).
    public var adamBeta2: Float = 0.999
    /// `adam_epsilon`: AdamW's denominator term, positive (default 1e-8).
    public var adamEpsilon: Float = 1e-8
    /// `weight_decay`: AdamW's decoupled weight decay, in [0, 1] (default 0).
    public var weightDecay: Float = 0
    /// `max_grad_norm`: the global gradient norm is clipped to this, positive (default 1).
    public var maxGradNorm: Double = 1
    /// `lr_scheduler_type`: `constant`, `constant_with_warmup`, `linear`, `cosine` or
    /// `cosine_with_min_lr` (default).
    public var lrSchedulerType: LearningRateScheduleType = .cosineWithMinLR
    /// `min_lr_rate` of `cosine_with_min_lr` (from `lr_scheduler_kwargs`): the floor as a fraction
    /// of `learningRate`, in [0, 1] (default 0.1).
    public var minLRRate: Double = 0.1
    /// `warmup_ratio`: the fraction of `maxSteps` the learning rate warms up over, in [0, 1] (default 0.1).
    public var warmupRatio: Double = 0.1
    /// `max_steps`: optimizer steps of the run, ≥ 1 (default 500).
    public var maxSteps: Int = 500
    /// `gradient_accumulation_steps`: micro-steps whose gradients make one optimizer step, ≥ 1 (default 4).
    public var gradientAccumulationSteps: Int = 4
    /// `per_device_train_batch_size`: completions per micro-step, a multiple of `numGenerations`
    /// (default 6: one prompt's group).
    public var perDeviceTrainBatchSize: Int = 6
    /// `gradient_checkpointing`: recompute each decoder layer's activations during backward
    /// (less memory, about a third more compute; default true).
    public var gradientCheckpointing: Bool = true

    // MARK: generation
    /// `num_generations`: completions sampled per prompt (the group size G), 2...4096 (default 6).
    public var numGenerations: Int = 6
    /// `max_prompt_length`: prompts are cut to their last this many tokens (default 512).
    /// Prompt plus completion must fit the model's positions.
    public var maxPromptLength: Int = 512
    /// `max_completion_length`: the most tokens sampled per completion (default 256, TRL's;
    /// `openRS`: 3584).
    public var maxCompletionLength: Int = 256
    /// `temperature`: sampling temperature, in [0, 100] (0 is greedy; default 1; `openRS`: 0.7).
    public var temperature: Float = 1
    /// `top_p`: nucleus sampling's probability mass, in (0, 1] (default 1: off).
    public var topP: Float = 1
    /// `top_k`: sample among the k most likely tokens (default 0: off).
    public var topK: Int = 0
    /// `min_p`: drop tokens below this fraction of the top token's probability, in [0, 1] (default 0: off).
    public var minP: Float = 0
    /// `repetition_penalty`: penalises tokens already in the sequence (positive logits divided by it,
    /// negative ones multiplied), positive (default 1: off).
    public var repetitionPenalty: Float = 1
    /// `paged_kv_cache`: rollouts keep keys and values in a paged KV cache
    /// (`GenerationOptions.pagedCache`): each prompt's KV stored once for its group, finished
    /// completions' blocks reused, and groups beyond the budget generated as blocks free up
    /// (continuous batching). The same completions as the contiguous cache for the same seed, their
    /// log-probabilities equal to float rounding. Default false: the contiguous cache, the path the
    /// training runs and benchmarks were measured with.
    public var pagedKVCache: Bool = false
    /// `kv_cache_block_size`: tokens per block of the paged cache, 1...4096 (default 16).
    public var kvCacheBlockSize: Int = 16
    /// `kv_cache_memory_fraction`: the paged cache's budget as a share, in (0, 1], of the memory the
    /// memory plan's peak without it leaves of `MemoryPlan.availableMemory(on:)` (after
    /// `memoryLimit`), so it fits beside whatever phase of the step needs most (default 0.9, the
    /// spare tenth for allocator slack). Used when `kvCacheMaxTokens` is nil and the available
    /// memory is known; see `MemoryPlan.pagedCache`. Open-RS's `vllm_gpu_memory_utilization` is a
    /// share of a separate vLLM GPU and stays an ignored recipe key.
    public var kvCacheMemoryFraction: Double = 0.9
    /// `kv_cache_max_tokens`: the paged cache's budget in tokens, replacing the share of memory
    /// (default nil). At least one group's worst case: `numGenerations` completions of
    /// `maxCompletionLength` tokens after a prompt of up to `maxPromptLength` tokens, in blocks.
    public var kvCacheMaxTokens: Int? = nil

    // MARK: objective
    /// `beta`: the k3 KL term's coefficient, in [0, 1000]; 0 (default) needs no reference model
    /// (`openRS`: 0.04).
    public var beta: Float = 0
    /// `epsilon`: the ratio is clipped to [1 − ε, 1 + `epsilonHigh`], ε in [0, 1] (default 0.2).
    public var epsilon: Float = 0.2
    /// `epsilon_high`: the upper clip (DAPO's clip-higher: 0.28; `cispo`: the weight cap), in
    /// [0, 10]; nil (default) = `epsilon`.
    public var epsilonHigh: Float? = nil
    /// `loss_type`: how token losses are reduced (default `bnpo`, as Open-RS; see `GRPOLossType`).
    public var lossType: GRPOLossType = .bnpo
    /// `scale_rewards`: advantages divided by the group's (default), the batch's or no standard deviation.
    public var scaleRewards: RewardScaling = .group
    /// `importance_sampling_level`: `token` (default) or `sequence` (GSPO).
    public var importanceSamplingLevel: ImportanceSamplingLevel = .token
    /// `delta`: two-sided clipping, the unclipped ratio capped at this value (INTELLECT-2); nil = off.
    public var delta: Float? = nil
    /// `sapo_temperature_pos`: the `sapo` gate's temperature for positive advantages, positive (default 1.0).
    public var sapoTemperaturePositive: Float = 1.0
    /// `sapo_temperature_neg`: the `sapo` gate's temperature for other advantages, positive (default 1.05).
    public var sapoTemperatureNegative: Float = 1.05
    /// `use_bias_correction_kl`: multiply the k3 KL by the importance ratio (default false).
    public var useBiasCorrectionKL: Bool = false
    /// `top_entropy_quantile` ρ: train only on the top ρ of counted tokens by policy entropy (1 = all; the "80/20" paper: 0.2).
    public var topEntropyQuantile: Float = 1
    /// `multi_objective_aggregation`: sum the weighted rewards, then normalise (default), or
    /// normalise each reward per group, then sum (GDPO).
    public var multiObjectiveAggregation: MultiObjectiveAggregation = .sumThenNormalize
    /// μ: times each step of a generation batch is taken (`num_iterations`).
    public var numIterations: Int = 1
    /// `steps_per_generation`: micro-batches generated at once (nil: `gradientAccumulationSteps`,
    /// one step's worth); a multiple of `gradientAccumulationSteps`, so one generation batch serves
    /// `stepsPerGeneration / gradientAccumulationSteps × numIterations` optimizer steps.
    public var stepsPerGeneration: Int? = nil
    /// `mask_truncated_completions`: give completions without an end token an all-zero loss mask (default false).
    public var maskTruncatedCompletions: Bool = false
    /// `dynamic_sampling` (DAPO's dynamic sampling, verl's `filter_groups`): drop groups whose
    /// rewards are all equal (they carry no gradient) and generate for further prompts until each
    /// micro-batch has its number of informative groups (default false).
    public var dynamicSampling: Bool = false
    /// `max_dynamic_sampling_rounds`: extra generation rounds allowed per micro-batch; when they
    /// run out the micro-batch trains on the informative groups it has (default 3).
    public var maxDynamicSamplingRounds: Int = 3
    /// `replay_buffer_size`: informative groups kept (largest reward spread first) to stand in for
    /// groups whose rewards are all equal, each used once (TRL's replay-buffer variant); with
    /// dynamic sampling they fill a micro-batch its rounds left short. 0 = off (default).
    public var replayBufferSize: Int = 0
    /// `temperature_consistent_logprobs`: divide the logits by the sampling temperature when
    /// scoring (TRL >= 0.16; default false: Open-RS scored at temperature 1).
    public var temperatureConsistentLogProbs: Bool = false

    // MARK: rewards
    /// `reward_funcs`: the built-in rewards (default `accuracy`; `openRS`: `format`, `cosine`).
    /// Custom rewards given to `GRPOTrainer(rewards:)` replace them; it may then be empty.
    public var rewardFuncs: [RewardName] = [.accuracy]
    /// `reward_weights`: one weight per `rewardFuncs` entry; nil (default) weights each 1
    /// (`openRS`: 1, 2). Must be nil with custom rewards, which bring their own.
    public var rewardWeights: [Float]? = nil
    /// `cosine_min_value_wrong`: the `cosine` reward of a wrong answer at length 0 (default 0).
    public var cosineMinValueWrong: Float = 0
    /// `cosine_max_value_wrong`: the `cosine` reward of a wrong answer at `cosineMaxLength` (default −0.5).
    public var cosineMaxValueWrong: Float = -0.5
    /// `cosine_min_value_correct`: the `cosine` reward of a right answer at `cosineMaxLength` (default 0.5).
    public var cosineMinValueCorrect: Float = 0.5
    /// `cosine_max_value_correct`: the `cosine` reward of a right answer at length 0 (default 1).
    public var cosineMaxValueCorrect: Float = 1
    /// `cosine_max_len`: the length the `cosine` reward's curve spans, ≥ 1 (characters or
    /// tokens, see `cosineVariant`; default 1000).
    public var cosineMaxLength: Int = 1000
    /// `cosine_variant`: `faithful` (characters, unclamped; as Open-RS; default) or `fixed` (tokens, clamped).
    public var cosineVariant: CosineReward.Variant = .faithful
    /// `repetition_n_grams`: the n of the `repetition_penalty` reward's n-grams, ≥ 1 (default 3).
    public var repetitionNGramSize: Int = 3
    /// `repetition_max_penalty`: the `repetition_penalty` reward of a fully repetitive text, ≤ 0 (default −1).
    public var repetitionMaxPenalty: Float = -1
    /// `unparseable_gold`: what gold-answer rewards give when the gold does not parse (default
    /// `no_score`; `reference` scores 1 as Open-RS).
    public var unparseableGold: UnparseableGoldPolicy = .noScore
    /// `overlong_buffer_len`: the `overlong` reward's linear penalty zone, the last this many
    /// tokens before `max_completion_length` (DAPO: 4096 of 20480; default 0 = only the limit).
    public var overlongBufferLength: Int = 0
    /// `overlong_penalty_factor`: the `overlong` reward at `max_completion_length` is minus this (default 1).
    public var overlongPenaltyFactor: Float = 1

    // MARK: data
    /// `system_prompt`: the system message of every training prompt; nil (default) sends the
    /// problem as the only message (`openRS`: `openRSSystemPrompt`).
    public var systemPrompt: String? = nil
    /// `dataset_prompt_column`: the dataset column holding the problem (default `problem`).
    public var promptColumn: String = "problem"
    /// `gold_columns`: the columns gold-answer rewards read, the first non-empty wins (default
    /// `solution`, `answer`).
    public var goldColumns: [String] = ["solution", "answer"]

    // MARK: bookkeeping
    /// `seed`: seeds sampling, data order, dropout and stochastic rounding (default 42).
    public var seed: UInt64 = 42
    /// `save_steps`: a checkpoint every this many steps (and at the end), ≥ 1 (default 50).
    public var saveSteps: Int = 50
    /// Keep only the newest this many checkpoints (nil = all).
    public var saveTotalLimit: Int? = nil
    /// `overwrite_output_dir`: a new (not resumed) run may replace an earlier run's files in its
    /// output folder (its metrics, completions and checkpoints are deleted first). Default false:
    /// such a run is refused.
    public var overwriteOutputDir: Bool = false
    /// Refuse to start when `MemoryPlan`'s peak exceeds the available memory (`memory_check`;
    /// default true).
    public var memoryCheck: Bool = true
    /// The most memory the run may use, in bytes (`memory_limit_gib` in recipes); nil: what the
    /// machine has available. The memory plan and its check use the smaller of the two.
    public var memoryLimit: Int? = nil
    /// Memory-lean full fine-tuning (`lean_memory`, CPU, default false): f32 weights, but the
    /// gradient accumulators and AdamW moments in bf16 with stochastic rounding and a bf16
    /// reference model — 12 bytes per parameter instead of 20. Not for LoRA runs (nothing to save).
    public var leanMemory: Bool = false
    /// The weights rollouts sample from (`rollout_dtype`; default `.auto`: the policy itself;
    /// `.bfloat16`: a bf16 copy of its matrices per generation batch, like vLLM's bf16 engine).
    public var rolloutDtype: RolloutPrecision = .auto
    /// The precision of the f32 products that score completions and take the loss's gradient —
    /// the policy's forward and backward, the reference model's and the old policy's log-probs
    /// (`matmul_precision`; default `.float32`). `.bfloat16` rounds their operands to bf16 and sums
    /// in f32 on CPUs with AMX-BF16 (about twice as fast there; no change elsewhere), like
    /// PyTorch's bf16 matmul precision; weights, gradients and optimizer state stay f32. Rollouts
    /// are unaffected (see `rolloutDtype`). See `MatmulPrecision`.
    public var matmulPrecision: MatmulPrecision = .float32
    /// Sharded optimizer state in a run of several processes (`zero_stage`, DeepSpeed's name;
    /// default 0): 0 keeps every AdamW moment on every rank; 1 gives each rank the moments of about
    /// 1/N of the trainable tensors, which it alone updates and then broadcasts (ZeRO stage 1).
    /// The steps are the same either way; with one process it changes nothing.
    public var zeroStage: Int = 0
    /// The most logits (f32 bytes) the loss computes at once; more rows are scored in chunks,
    /// recomputed in backward (`logits_chunk_bytes`, default 256 MiB).
    public var logitsChunkBytes: Int = 256 << 20
    /// `logging_steps`: accepted for recipes; every step is logged (default 1).
    public var loggingSteps: Int = 1
    /// `log_completions`: sample completions printed and saved to `completions.jsonl` each step (default true).
    public var logCompletions: Bool = true

    /// Which names errors use for settings: Swift properties (`rewardWeights`, the default) or
    /// recipe keys (`reward_weights`; RLApp's `Recipe` sets this).
    public var settingNames: SettingNames = .swift

    public init() {}

    /// The Open-RS recipe (Open-RS's `recipes/grpo.yaml`, TRL 69ad852 defaults for what it
    /// leaves out): `GRPOConfiguration()` with the paper's system prompt, `beta` 0.04, rewards
    /// `format` and `cosine` weighted 1 and 2, 3,584 completion tokens and temperature 0.7.
    public static var openRS: GRPOConfiguration {
        var c = GRPOConfiguration()
        c.systemPrompt = openRSSystemPrompt
        c.beta = 0.04
        c.rewardFuncs = [.format, .cosine]
        c.rewardWeights = [1, 2]
        c.maxCompletionLength = 3584
        c.temperature = 0.7
        return c
    }

    /// The Open-RS system prompt, exactly (doubled braces and the space before the period
    /// included).
    public static let openRSSystemPrompt =
        "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant first thinks about the reasoning process in the mind and then provides the user with the answer, and put your final answer within \\boxed{{}} . The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. Note that respond by English, NOT use other languages."

    /// Prompts per micro-step.
    public var promptsPerMicroStep: Int { Swift.max(1, perDeviceTrainBatchSize / Swift.max(numGenerations, 1)) }

    /// The learning-rate schedule over `maxSteps`.
    public func learningRateSchedule() -> LearningRateSchedule {
        let warmup = LearningRateSchedule.warmupSteps(ratio: warmupRatio, totalSteps: maxSteps)
        switch lrSchedulerType {
        case .constant: return .constant
        case .constantWithWarmup: return .constantWithWarmup(warmupSteps: warmup)
        case .linear: return .linear(warmupSteps: warmup, totalSteps: maxSteps)
        case .cosine: return .cosine(warmupSteps: warmup, totalSteps: maxSteps)
        case .cosineWithMinLR: return .cosineWithMinLR(warmupSteps: warmup, totalSteps: maxSteps, minLRRate: minLRRate)
        }
    }

    /// Checks the settings against each other; throws `TrainingError.invalidSetting` naming the
    /// first bad setting (as `settingNames` spells it) and its allowed range.
    public func validate() throws {
        let n = settingName
        func fail(_ key: String, _ reason: String) throws { throw TrainingError.invalidSetting(key: n(key), reason: reason) }
        if numGenerations < 2 { try fail("num_generations", "must be at least 2 (advantages compare completions of one prompt)") }
        if perDeviceTrainBatchSize % numGenerations != 0 {
            try fail("per_device_train_batch_size", "\(perDeviceTrainBatchSize) is not a multiple of \(n("num_generations")) (\(numGenerations))")
        }
        if maxSteps < 1 { try fail("max_steps", "must be at least 1") }
        if gradientAccumulationSteps < 1 { try fail("gradient_accumulation_steps", "must be at least 1") }
        if numIterations < 1 { try fail("num_iterations", "must be at least 1") }
        if let stepsPerGeneration {
            try check("steps_per_generation", stepsPerGeneration, 1...4_096, "between 1 and 4096")
            if stepsPerGeneration % gradientAccumulationSteps != 0 {
                try fail("steps_per_generation", "\(stepsPerGeneration) is not a multiple of \(n("gradient_accumulation_steps")) (\(gradientAccumulationSteps))")
            }
        }
        if saveSteps < 1 { try fail("save_steps", "must be at least 1") }
        if maxCompletionLength < 1 { try fail("max_completion_length", "must be at least 1") }
        if maxPromptLength < 1 { try fail("max_prompt_length", "must be at least 1") }
        if let memoryLimit, memoryLimit < 1 << 20 { try fail("memory_limit_gib", "must be at least 1 MiB") }
        if logitsChunkBytes < 1 << 20 { try fail("logits_chunk_bytes", "must be at least 1 MiB (1048576), got \(logitsChunkBytes)") }
        /// `value` within `range`; NaN never is.
        func check<T: Comparable>(_ key: String, _ value: T, _ range: ClosedRange<T>, _ wording: String) throws {
            if !range.contains(value) { try fail(key, "must be \(wording), got \(value)") }
        }
        func positive(_ key: String, _ value: Double) throws {
            if !(value > 0 && value.isFinite) { try fail(key, "must be a positive number, got \(value)") }
        }
        try check("learning_rate", learningRate, 0...1, "between 0 and 1")
        try check("adam_beta1", adamBeta1, 0...0.999_999, "in [0, 1)")
        try check("adam_beta2", adamBeta2, 0...0.999_999_9, "in [0, 1)")
        try positive("adam_epsilon", Double(adamEpsilon))
        try check("weight_decay", weightDecay, 0...1, "between 0 and 1")
        if !(maxGradNorm > 0) { try fail("max_grad_norm", "must be positive, got \(maxGradNorm)") }
        try check("min_lr_rate", minLRRate, 0...1, "between 0 and 1")
        try check("warmup_ratio", warmupRatio, 0...1, "between 0 and 1")
        try check("temperature", temperature, 0...100, "between 0 and 100")
        try check("top_p", topP, Float.leastNonzeroMagnitude...1, "in (0, 1]")
        if topK < 0 { try fail("top_k", "must be 0 (off) or positive, got \(topK)") }
        try check("min_p", minP, 0...1, "between 0 and 1")
        try positive("repetition_penalty", Double(repetitionPenalty))
        try check("beta", beta, 0...1_000, "between 0 and 1000")
        try check("epsilon", epsilon, 0...1, "between 0 and 1")
        if let epsilonHigh { try check("epsilon_high", epsilonHigh, 0...10, "between 0 and 10") }
        if let delta { try check("delta", delta, 1...1_000, "at least 1 (greater than 1 + \(n("epsilon_high")) is recommended)") }
        try check("sapo_temperature_pos", sapoTemperaturePositive, 1e-6...1_000, "positive")
        try check("sapo_temperature_neg", sapoTemperatureNegative, 1e-6...1_000, "positive")
        try check("top_entropy_quantile", topEntropyQuantile, 0...1, "between 0 and 1")
        try check("max_dynamic_sampling_rounds", maxDynamicSamplingRounds, 0...1_000, "between 0 and 1000")
        try check("replay_buffer_size", replayBufferSize, 0...4_096, "between 0 (off) and 4096")
        try check("zero_stage", zeroStage, 0...1, "0 (every rank keeps all optimizer state) or 1 (sharded AdamW moments); "
            + "stage 2 and 3 are not supported")
        try check("overlong_buffer_len", overlongBufferLength, 0...maxCompletionLength,
                  "between 0 and \(n("max_completion_length")) (\(maxCompletionLength))")
        try check("overlong_penalty_factor", overlongPenaltyFactor, 0...1_000, "between 0 and 1000")
        if cosineMaxLength < 1 { try fail("cosine_max_len", "must be at least 1, got \(cosineMaxLength)") }
        if repetitionNGramSize < 1 { try fail("repetition_n_grams", "must be at least 1, got \(repetitionNGramSize)") }
        try check("repetition_max_penalty", repetitionMaxPenalty, -1_000...0, "at most 0")
        if let saveTotalLimit, saveTotalLimit < 1 { try fail("save_total_limit", "must be at least 1, got \(saveTotalLimit)") }
        if perDeviceTrainBatchSize < numGenerations {
            try fail("per_device_train_batch_size", "\(perDeviceTrainBatchSize) holds no full group of \(n("num_generations")) (\(numGenerations))")
        }
        // Bounds on what one process can hold, so a typo is an error rather than an out-of-memory abort.
        try check("num_generations", numGenerations, 2...4_096, "between 2 and 4096")
        try check("per_device_train_batch_size", perDeviceTrainBatchSize, 1...65_536, "at most 65536")
        try check("max_completion_length", maxCompletionLength, 1...1_048_576, "between 1 and 1048576")
        try check("max_prompt_length", maxPromptLength, 1...1_048_576, "between 1 and 1048576")
        // An empty rewardFuncs is fine here: custom rewards given to GRPOTrainer replace them
        // (the trainer refuses a run with no reward at all).
        if let weights = rewardWeights, weights.count != rewardFuncs.count {
            try fail("reward_weights", "\(weights.count) weights for \(rewardFuncs.count) reward functions (\(n("reward_funcs")))")
        }
        if rewardFuncs.contains(.overlong) && overlongBufferLength < 1 {
            try fail("overlong_buffer_len", "must be at least 1 when \(n("reward_funcs")) has overlong (the length of its penalty zone, in tokens)")
        }
        try check("kv_cache_block_size", kvCacheBlockSize, 1...4_096, "between 1 and 4096")
        if !(kvCacheMemoryFraction > 0 && kvCacheMemoryFraction <= 1) {
            try fail("kv_cache_memory_fraction", "must be in (0, 1], got \(kvCacheMemoryFraction)")
        }
        if let kvCacheMaxTokens, kvCacheMaxTokens < pagedGroupTokens {
            try fail("kv_cache_max_tokens", "\(kvCacheMaxTokens) tokens cannot hold one group: \(pagedGroupDescription) need up to "
                + "\(pagedGroupTokens); raise it or lower \(n("num_generations")) or \(n("max_completion_length"))")
        }
    }
}

/// `lr_scheduler_type`: the learning-rate schedules transformers names, as it spells them.
public enum LearningRateScheduleType: String, Sendable, CaseIterable {
    case constant
    case constantWithWarmup = "constant_with_warmup"
    case linear
    case cosine
    case cosineWithMinLR = "cosine_with_min_lr"
}
