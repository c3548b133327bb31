/// What one optimizer step logged: TRL's keys plus timing. Written as one JSON line per step.
public struct StepMetrics: Codable, Sendable, Equatable {
    public var step: Int
    public var epoch: Double
    public var loss: Double
    public var gradNorm: Double
    public var learningRate: Double
    public var reward: Double
    public var rewardStd: Double
    /// Mean raw reward per function, by name (`rewards/<name>` in TRL).
    public var rewards: [String: Double]
    public var kl: Double
    public var clipRatio: Double
    /// Mean completion length in tokens (through the first end token).
    public var completionLength: Double
    /// Fraction of completions that ended without an end token.
    public var truncatedFraction: Double
    public var generationSeconds: Double
    public var trainingSeconds: Double
    /// Generated tokens per second of generation time.
    public var tokensPerSecond: Double
    /// True when the update was skipped because the loss or gradient was not finite.
    public var skipped: Bool
    /// Dataset rows whose gold answer could not be parsed, this step.
    public var unparseableGolds: Int

    enum CodingKeys: String, CodingKey {
        case step, epoch, loss, kl, reward, rewards, skipped
        case gradNorm = "grad_norm", learningRate = "learning_rate", rewardStd = "reward_std"
        case clipRatio = "clip_ratio", completionLength = "completion_length", truncatedFraction = "truncated_fraction"
        case generationSeconds = "generation_seconds", trainingSeconds = "training_seconds"
        case tokensPerSecond = "tokens_per_second", unparseableGolds = "unparseable_golds"
    }

    /// The accuracy reward's mean, when that reward ran.
    public var accuracy: Double? { rewards["accuracy"] }
}
