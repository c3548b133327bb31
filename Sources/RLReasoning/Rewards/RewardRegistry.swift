/// The built-in rewards by recipe name, configured from a `GRPOConfiguration`.
public enum RewardRegistry {
    /// Names accepted in `reward_funcs` (open-r1 spellings with or without `_reward`).
    public static let names = ["accuracy", "format", "tag_count", "reasoning_steps", "cosine", "length", "repetition_penalty"]

    /// The reward function for `name`.
    public static func make(_ name: String, configuration c: GRPOConfiguration) -> (any RewardFunction)? {
        let columns = GoldColumns(c.goldColumns)
        switch name {
        case "accuracy": return AccuracyReward(goldColumns: columns, unparseableGold: c.unparseableGold)
        case "format": return FormatReward()
        case "tag_count": return TagCountReward()
        case "reasoning_steps": return ReasoningStepsReward()
        case "cosine":
            var reward = CosineReward(variant: c.cosineVariant, maxLength: c.cosineMaxLength, minValueWrong: c.cosineMinValueWrong,
                                      maxValueWrong: c.cosineMaxValueWrong, minValueCorrect: c.cosineMinValueCorrect,
                                      maxValueCorrect: c.cosineMaxValueCorrect)
            reward.goldColumns = columns
            return reward
        case "length":
            var reward = LengthReward()
            reward.goldColumns = columns
            return reward
        case "repetition_penalty": return RepetitionPenaltyReward(ngramSize: c.repetitionNGramSize, maxPenalty: c.repetitionMaxPenalty)
        default: return nil
        }
    }

    /// The recipe's name with an open-r1 style `_reward` suffix removed (`format_reward` → `format`).
    public static func canonicalName(_ name: String) -> String {
        let trimmed = name.hasSuffix("_reward") ? String(name.dropLast(7)) : name
        return trimmed == "len" ? "length" : trimmed
    }
}
