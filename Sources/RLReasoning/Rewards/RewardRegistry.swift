/// The built-in reward functions, as `reward_funcs` names them.
public enum RewardName: String, Sendable, Codable, CaseIterable {
    case accuracy
    case format
    case tagCount = "tag_count"
    case reasoningSteps = "reasoning_steps"
    case cosine
    case length
    case repetitionPenalty = "repetition_penalty"
    /// DAPO's soft overlong punishment (`overlong_buffer_len`, `overlong_penalty_factor`).
    case overlong

    /// The name a recipe gives, in open-r1's spellings too (`format_reward`, `len`), or nil.
    public init?(recipeName: String) {
        let trimmed = recipeName.hasSuffix("_reward") ? String(recipeName.dropLast(7)) : recipeName
        self.init(rawValue: trimmed == "len" ? "length" : trimmed)
    }
}

/// The built-in rewards, configured from a `GRPOConfiguration`.
public enum RewardRegistry {
    /// The reward function `name` with the configuration's settings (gold columns, cosine and
    /// repetition parameters, the unparseable-gold policy). Throws `TrainingError.invalidArgument`
    /// for parameters the reward cannot use (`validate()` refuses them first).
    public static func make(_ name: RewardName, configuration c: GRPOConfiguration) throws -> any RewardFunction {
        let columns = GoldColumns(c.goldColumns)
        switch name {
        case .accuracy: return AccuracyReward(goldColumns: columns, unparseableGold: c.unparseableGold)
        case .format: return FormatReward()
        case .tagCount: return TagCountReward()
        case .reasoningSteps: return ReasoningStepsReward()
        case .cosine:
            var reward = CosineReward(variant: c.cosineVariant, maxLength: c.cosineMaxLength, minValueWrong: c.cosineMinValueWrong,
                                      maxValueWrong: c.cosineMaxValueWrong, minValueCorrect: c.cosineMinValueCorrect,
                                      maxValueCorrect: c.cosineMaxValueCorrect)
            reward.goldColumns = columns
            return reward
        case .length:
            var reward = LengthReward()
            reward.goldColumns = columns
            return reward
        case .repetitionPenalty: return try RepetitionPenaltyReward(ngramSize: c.repetitionNGramSize, maxPenalty: c.repetitionMaxPenalty)
        case .overlong:
            return OverlongReward(maxLength: c.maxCompletionLength, bufferLength: c.overlongBufferLength, penaltyFactor: c.overlongPenaltyFactor)
        }
    }
}
