/// What one optimizer step logged: TRL's keys (as TRL 1.x spells them: `clip_ratio/low_mean`,
/// `completions/mean_length`, `rewards/<name>/mean` …) plus timing. Written as one JSON line per step.
public struct StepMetrics: Codable, Sendable, Equatable {
    public var step: Int
    public var epoch: Double
    public var loss: Double
    public var gradNorm: Double
    public var learningRate: Double
    public var reward: Double
    public var rewardStd: Double
    /// Mean raw reward per function, by name (`rewards/<name>/mean`).
    public var rewards: [String: Double]
    /// Standard deviation of each function's raw rewards over the step's completions (`rewards/<name>/std`).
    public var rewardStds: [String: Double] = [:]
    /// Mean over sequences of each sequence's token-mean k3 KL (`kl`; 0 with beta 0).
    public var kl: Double
    /// Fraction of counted tokens whose surrogate was clipped (`clip_ratio`, TRL 0.15's metric).
    public var clipRatio: Double
    /// TRL 1.x's clip metrics: ratio below `1 - epsilon` with a negative advantage, above
    /// `1 + epsilon_high` with a positive one, and either (`clip_ratio/low_mean`, `/high_mean`, `/region_mean`).
    public var clipRatioLow: Double = 0
    public var clipRatioHigh: Double = 0
    public var clipRatioRegion: Double = 0
    /// Mean policy entropy (nats) over counted tokens (`entropy`).
    public var entropy: Double = 0
    /// Fraction of groups whose rewards are all equal, i.e. carry no gradient (`frac_reward_zero_std`).
    public var fracRewardZeroStd: Double = 0
    /// Mean completion length in tokens (through the first end token).
    public var completionLength: Double
    /// Generated tokens per completion: mean, min, max (`completions/mean_length`, `/min_length`, `/max_length`).
    public var completionMeanLength: Double = 0
    public var completionMinLength: Double = 0
    public var completionMaxLength: Double = 0
    /// Mean length of the completions that ended with an end token (`completions/mean_terminated_length`; 0 if none).
    public var completionMeanTerminatedLength: Double = 0
    /// Fraction of completions that ended without an end token (`completions/clipped_ratio`).
    public var truncatedFraction: Double
    /// Prompt and completion tokens trained on so far in the run (`num_tokens`).
    public var numTokens: Int = 0
    public var generationSeconds: Double
    public var trainingSeconds: Double
    /// Generated tokens per second of generation time.
    public var tokensPerSecond: Double
    /// Tokens generated this step, groups dynamic sampling dropped included (`generated_tokens`;
    /// 0 in steps that reuse a generation batch, μ > 1).
    public var generatedTokens: Int = 0
    /// Processes that trained this step together (`world_size`; 1 for one process).
    public var worldSize: Int = 1
    /// Groups dynamic sampling dropped this step (all-equal rewards), and its extra generation
    /// rounds (`dynamic_sampling/dropped_groups`, `dynamic_sampling/extra_rounds`).
    public var droppedGroups: Int = 0
    public var extraGenerationRounds: Int = 0
    /// Groups taken from the replay buffer this step (`replay/replayed_groups`).
    public var replayedGroups: Int = 0
    /// True when the update was skipped because the loss or gradient was not finite.
    public var skipped: Bool
    /// Dataset rows whose gold answer could not be parsed, this step.
    public var unparseableGolds: Int

    public init(step: Int, epoch: Double, loss: Double, gradNorm: Double, learningRate: Double, reward: Double, rewardStd: Double,
                rewards: [String: Double], kl: Double, clipRatio: Double, completionLength: Double, truncatedFraction: Double,
                generationSeconds: Double, trainingSeconds: Double, tokensPerSecond: Double, skipped: Bool, unparseableGolds: Int) {
        self.step = step
        self.epoch = epoch
        self.loss = loss
        self.gradNorm = gradNorm
        self.learningRate = learningRate
        self.reward = reward
        self.rewardStd = rewardStd
        self.rewards = rewards
        self.kl = kl
        self.clipRatio = clipRatio
        self.completionLength = completionLength
        self.truncatedFraction = truncatedFraction
        self.generationSeconds = generationSeconds
        self.trainingSeconds = trainingSeconds
        self.tokensPerSecond = tokensPerSecond
        self.skipped = skipped
        self.unparseableGolds = unparseableGolds
    }

    enum CodingKeys: String, CodingKey {
        case step, epoch, loss, kl, reward, entropy, skipped
        case gradNorm = "grad_norm", learningRate = "learning_rate", rewardStd = "reward_std"
        case clipRatio = "clip_ratio", clipRatioLow = "clip_ratio/low_mean", clipRatioHigh = "clip_ratio/high_mean"
        case clipRatioRegion = "clip_ratio/region_mean", fracRewardZeroStd = "frac_reward_zero_std"
        case completionLength = "completion_length", truncatedFraction = "completions/clipped_ratio"
        case completionMeanLength = "completions/mean_length", completionMinLength = "completions/min_length"
        case completionMaxLength = "completions/max_length", completionMeanTerminatedLength = "completions/mean_terminated_length"
        case numTokens = "num_tokens", generationSeconds = "generation_seconds", trainingSeconds = "training_seconds"
        case tokensPerSecond = "tokens_per_second", unparseableGolds = "unparseable_golds", generatedTokens = "generated_tokens"
        case worldSize = "world_size"
        case droppedGroups = "dynamic_sampling/dropped_groups", extraGenerationRounds = "dynamic_sampling/extra_rounds"
        case replayedGroups = "replay/replayed_groups"
        /// Earlier files: per-reward means nested under "rewards", the truncated share as "truncated_fraction".
        case legacyRewards = "rewards", legacyTruncatedFraction = "truncated_fraction"
    }

    /// `rewards/<name>/mean` and `rewards/<name>/std`.
    struct RewardKey: CodingKey {
        var stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decode(Int.self, forKey: .step)
        epoch = try c.decode(Double.self, forKey: .epoch)
        loss = try c.decode(Double.self, forKey: .loss)
        gradNorm = try c.decode(Double.self, forKey: .gradNorm)
        learningRate = try c.decode(Double.self, forKey: .learningRate)
        reward = try c.decode(Double.self, forKey: .reward)
        rewardStd = try c.decode(Double.self, forKey: .rewardStd)
        kl = try c.decode(Double.self, forKey: .kl)
        clipRatio = try c.decode(Double.self, forKey: .clipRatio)
        clipRatioLow = try c.decodeIfPresent(Double.self, forKey: .clipRatioLow) ?? 0
        clipRatioHigh = try c.decodeIfPresent(Double.self, forKey: .clipRatioHigh) ?? 0
        clipRatioRegion = try c.decodeIfPresent(Double.self, forKey: .clipRatioRegion) ?? 0
        entropy = try c.decodeIfPresent(Double.self, forKey: .entropy) ?? 0
        fracRewardZeroStd = try c.decodeIfPresent(Double.self, forKey: .fracRewardZeroStd) ?? 0
        completionLength = try c.decode(Double.self, forKey: .completionLength)
        completionMeanLength = try c.decodeIfPresent(Double.self, forKey: .completionMeanLength) ?? 0
        completionMinLength = try c.decodeIfPresent(Double.self, forKey: .completionMinLength) ?? 0
        completionMaxLength = try c.decodeIfPresent(Double.self, forKey: .completionMaxLength) ?? 0
        completionMeanTerminatedLength = try c.decodeIfPresent(Double.self, forKey: .completionMeanTerminatedLength) ?? 0
        truncatedFraction = try c.decodeIfPresent(Double.self, forKey: .truncatedFraction)
            ?? c.decode(Double.self, forKey: .legacyTruncatedFraction)
        numTokens = try c.decodeIfPresent(Int.self, forKey: .numTokens) ?? 0
        generationSeconds = try c.decode(Double.self, forKey: .generationSeconds)
        trainingSeconds = try c.decode(Double.self, forKey: .trainingSeconds)
        tokensPerSecond = try c.decode(Double.self, forKey: .tokensPerSecond)
        generatedTokens = try c.decodeIfPresent(Int.self, forKey: .generatedTokens) ?? 0
        worldSize = try c.decodeIfPresent(Int.self, forKey: .worldSize) ?? 1
        droppedGroups = try c.decodeIfPresent(Int.self, forKey: .droppedGroups) ?? 0
        extraGenerationRounds = try c.decodeIfPresent(Int.self, forKey: .extraGenerationRounds) ?? 0
        replayedGroups = try c.decodeIfPresent(Int.self, forKey: .replayedGroups) ?? 0
        skipped = try c.decode(Bool.self, forKey: .skipped)
        unparseableGolds = try c.decode(Int.self, forKey: .unparseableGolds)
        rewards = try c.decodeIfPresent([String: Double].self, forKey: .legacyRewards) ?? [:]
        let flat = try decoder.container(keyedBy: RewardKey.self)
        for key in flat.allKeys where key.stringValue.hasPrefix("rewards/") {
            let parts = key.stringValue.split(separator: "/")
            guard parts.count == 3 else { continue }
            let value = try flat.decode(Double.self, forKey: key)
            if parts[2] == "mean" { rewards[String(parts[1])] = value } else if parts[2] == "std" { rewardStds[String(parts[1])] = value }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step, forKey: .step)
        try c.encode(epoch, forKey: .epoch)
        try c.encode(loss, forKey: .loss)
        try c.encode(gradNorm, forKey: .gradNorm)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(reward, forKey: .reward)
        try c.encode(rewardStd, forKey: .rewardStd)
        try c.encode(kl, forKey: .kl)
        try c.encode(clipRatio, forKey: .clipRatio)
        try c.encode(clipRatioLow, forKey: .clipRatioLow)
        try c.encode(clipRatioHigh, forKey: .clipRatioHigh)
        try c.encode(clipRatioRegion, forKey: .clipRatioRegion)
        try c.encode(entropy, forKey: .entropy)
        try c.encode(fracRewardZeroStd, forKey: .fracRewardZeroStd)
        try c.encode(completionLength, forKey: .completionLength)
        try c.encode(completionMeanLength, forKey: .completionMeanLength)
        try c.encode(completionMinLength, forKey: .completionMinLength)
        try c.encode(completionMaxLength, forKey: .completionMaxLength)
        try c.encode(completionMeanTerminatedLength, forKey: .completionMeanTerminatedLength)
        try c.encode(truncatedFraction, forKey: .truncatedFraction)
        try c.encode(numTokens, forKey: .numTokens)
        try c.encode(generationSeconds, forKey: .generationSeconds)
        try c.encode(trainingSeconds, forKey: .trainingSeconds)
        try c.encode(tokensPerSecond, forKey: .tokensPerSecond)
        try c.encode(generatedTokens, forKey: .generatedTokens)
        try c.encode(worldSize, forKey: .worldSize)
        try c.encode(droppedGroups, forKey: .droppedGroups)
        try c.encode(extraGenerationRounds, forKey: .extraGenerationRounds)
        try c.encode(replayedGroups, forKey: .replayedGroups)
        try c.encode(skipped, forKey: .skipped)
        try c.encode(unparseableGolds, forKey: .unparseableGolds)
        var flat = encoder.container(keyedBy: RewardKey.self)
        for (name, value) in rewards { try flat.encode(value, forKey: RewardKey(stringValue: "rewards/\(name)/mean")) }
        for (name, value) in rewardStds { try flat.encode(value, forKey: RewardKey(stringValue: "rewards/\(name)/std")) }
    }

    /// The accuracy reward's mean, when that reward ran.
    public var accuracy: Double? { rewards["accuracy"] }
}
