import RLTensor

/// Every setting of a GRPO run. Defaults are the Open-RS recipe (Open-RS's `recipes/grpo.yaml` with TRL
/// 69ad852 defaults for what it leaves out); recipe keys map one to one (see RLApp's `Recipe`).
public struct GRPOConfiguration: Sendable, Equatable {
    // MARK: optimisation
    public var learningRate: Double = 1e-6
    public var adamBeta1: Float = 0.9
    public var adamBeta2: Float = 0.999
    public var adamEpsilon: Float = 1e-8
    public var weightDecay: Float = 0
    public var maxGradNorm: Double = 1
    /// `constant`, `constant_with_warmup`, `linear`, `cosine` or `cosine_with_min_lr`.
    public var lrSchedulerType: LearningRateScheduleType = .cosineWithMinLR
    /// `min_lr_rate` of `cosine_with_min_lr` (from `lr_scheduler_kwargs`).
    public var minLRRate: Double = 0.1
    public var warmupRatio: Double = 0.1
    public var maxSteps: Int = 500
    public var gradientAccumulationSteps: Int = 4
    /// Completions per micro-step (a multiple of `numGenerations`).
    public var perDeviceTrainBatchSize: Int = 6
    /// Recompute each decoder layer's activations during backward.
    public var gradientCheckpointing: Bool = true

    // MARK: generation
    public var numGenerations: Int = 6
    public var maxPromptLength: Int = 512
    public var maxCompletionLength: Int = 3584
    public var temperature: Float = 0.7
    public var topP: Float = 1
    public var topK: Int = 0
    public var minP: Float = 0
    public var repetitionPenalty: Float = 1

    // MARK: objective
    public var beta: Float = 0.04
    public var epsilon: Float = 0.2
    public var epsilonHigh: Float? = nil
    public var lossType: GRPOLossType = .bnpo
    public var scaleRewards: RewardScaling = .group
    /// μ: optimizer steps per generation batch.
    public var numIterations: Int = 1
    /// Give completions without an end token an all-zero loss mask.
    public var maskTruncatedCompletions: Bool = false
    /// Divide the logits by the sampling temperature when scoring (TRL >= 0.16); Open-RS
    /// scored at temperature 1.
    public var temperatureConsistentLogProbs: Bool = false

    // MARK: rewards
    public var rewardFuncs: [RewardName] = [.format, .cosine]
    public var rewardWeights: [Float]? = [1, 2]
    public var cosineMinValueWrong: Float = 0
    public var cosineMaxValueWrong: Float = -0.5
    public var cosineMinValueCorrect: Float = 0.5
    public var cosineMaxValueCorrect: Float = 1
    public var cosineMaxLength: Int = 1000
    /// `faithful` (characters, unclamped; as Open-RS) or `fixed` (tokens, clamped).
    public var cosineVariant: CosineReward.Variant = .faithful
    public var repetitionNGramSize: Int = 3
    public var repetitionMaxPenalty: Float = -1
    public var unparseableGold: UnparseableGoldPolicy = .noScore

    // MARK: data
    public var systemPrompt: String? = GRPOConfiguration.openRSSystemPrompt
    public var promptColumn: String = "problem"
    public var goldColumns: [String] = ["solution", "answer"]

    // MARK: bookkeeping
    public var seed: UInt64 = 42
    public var saveSteps: Int = 50
    /// Keep only the newest this many checkpoints (nil = all).
    public var saveTotalLimit: Int? = nil
    public var loggingSteps: Int = 1
    /// Sample completions printed and saved per logged step.
    public var logCompletions: Bool = true

    public init() {}

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

    /// Checks the settings against each other; throws naming the first bad key.
    public func validate() throws {
        func fail(_ key: String, _ reason: String) throws { throw TrainingError.invalidSetting(key: key, reason: reason) }
        if numGenerations < 2 { try fail("num_generations", "must be at least 2 (advantages compare completions of one prompt)") }
        if perDeviceTrainBatchSize % numGenerations != 0 {
            try fail("per_device_train_batch_size", "\(perDeviceTrainBatchSize) is not a multiple of num_generations (\(numGenerations))")
        }
        if maxSteps < 1 { try fail("max_steps", "must be at least 1") }
        if gradientAccumulationSteps < 1 { try fail("gradient_accumulation_steps", "must be at least 1") }
        if numIterations < 1 { try fail("num_iterations", "must be at least 1") }
        if saveSteps < 1 { try fail("save_steps", "must be at least 1") }
        if maxCompletionLength < 1 { try fail("max_completion_length", "must be at least 1") }
        if maxPromptLength < 1 { try fail("max_prompt_length", "must be at least 1") }
        if !(learningRate >= 0) { try fail("learning_rate", "must be a non-negative number") }
        if temperature < 0 { try fail("temperature", "must be >= 0") }
        if let weights = rewardWeights, weights.count != rewardFuncs.count {
            try fail("reward_weights", "\(weights.count) weights for \(rewardFuncs.count) reward functions")
        }
        if rewardFuncs.isEmpty { try fail("reward_funcs", "name at least one reward function") }
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
