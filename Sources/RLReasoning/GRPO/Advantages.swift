/// How rewards are normalised into advantages.
public enum RewardScaling: String, Sendable, Codable, CaseIterable {
    /// Divide by the group's standard deviation (Open-RS / TRL 0.15 behaviour).
    case group
    /// Divide by the standard deviation of the whole batch.
    case batch
    /// Do not divide (Dr. GRPO): `A = r - mean(group)`.
    case none
}

/// How several reward functions become one advantage (TRL's `multi_objective_aggregation`).
public enum MultiObjectiveAggregation: String, Sendable, Codable, CaseIterable {
    /// Weighted sum of the rewards, then `scale_rewards` normalisation (GRPO; default).
    case sumThenNormalize = "sum_then_normalize"
    /// Each reward normalised within its group first (mean 0, std 1; a missing score is left out),
    /// then the weighted sum, normalised over the whole batch (GDPO). `scale_rewards` is not used.
    case normalizeThenSum = "normalize_then_sum"
}

/// GDPO advantages: `scores[k][i]` (reward function k, completion i; nil = no score) normalised
/// per group and function, summed with `weights`, then `(x - batch mean) / (batch std + 1e-4)`.
/// Also returns the summed normalised rewards. Standard deviations are unbiased, as TRL's `nanstd`.
/// Throws `TrainingError.invalidArgument` unless the scores split into groups of `groupSize` and
/// every function has a weight and one score per completion.
public func normalizedThenSummedAdvantages(scores: [[Float?]], weights: [Float], groupSize: Int) throws -> (advantages: [Float], rewards: [Float]) {
    let count = scores.first?.count ?? 0
    guard groupSize >= 1 && count % groupSize == 0 else {
        throw TrainingError.invalidArgument(name: "groupSize", reason: "\(count) scores do not split into groups of \(groupSize)")
    }
    guard weights.count == scores.count, scores.allSatisfy({ $0.count == count }) else {
        throw TrainingError.invalidArgument(name: "scores", reason: "need one weight per reward function (\(scores.count), got \(weights.count)) "
            + "and one score per completion from each")
    }
    var summed = [Float](repeating: 0, count: count)
    for (k, column) in scores.enumerated() {
        for start in stride(from: 0, to: count, by: groupSize) {
            let present = (start..<(start + groupSize)).compactMap { column[$0] }
            guard !present.isEmpty else { continue }
            let mean = present.reduce(0.0) { $0 + Double($1) } / Double(present.count)
            let std = unbiasedStandardDeviation(present[...])
            for i in start..<(start + groupSize) {
                if let value = column[i] { summed[i] += weights[k] * Float((Double(value) - mean) / (std + 1e-4)) }
            }
        }
    }
    let mean = summed.reduce(0.0) { $0 + Double($1) } / Double(max(count, 1))
    let std = unbiasedStandardDeviation(summed[...])
    return (summed.map { Float((Double($0) - mean) / (std + 1e-4)) }, summed)
}

/// GRPO advantages: `(r - group mean) / (std + 1e-4)`, one per completion.
///
/// `rewards` holds consecutive groups of `groupSize` completions of the same prompt. The standard
/// deviation is the unbiased one (divisor n - 1), as `torch.std`. A group whose rewards are all
/// equal gets advantages of exactly 0.
public func groupAdvantages(rewards: [Float], groupSize: Int, scaling: RewardScaling = .group) throws -> [Float] {
    guard groupSize >= 1 && rewards.count % groupSize == 0 else {
        throw TrainingError.invalidArgument(name: "groupSize", reason: "\(rewards.count) rewards do not split into groups of \(groupSize)")
    }
    let batchStd = unbiasedStandardDeviation(rewards[...])
    var advantages = [Float](repeating: 0, count: rewards.count)
    for start in stride(from: 0, to: rewards.count, by: groupSize) {
        let group = rewards[start..<(start + groupSize)]
        let mean = group.reduce(0.0) { $0 + Double($1) } / Double(groupSize)
        let scale: Double
        switch scaling {
        case .group: scale = unbiasedStandardDeviation(group) + 1e-4
        case .batch: scale = batchStd + 1e-4
        case .none: scale = 1
        }
        for i in group.indices { advantages[i] = Float((Double(rewards[i]) - mean) / scale) }
    }
    return advantages
}

/// Unbiased standard deviation (divisor n - 1); 0 for fewer than two values.
func unbiasedStandardDeviation(_ values: ArraySlice<Float>) -> Double {
    guard values.count > 1 else { return 0 }
    let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
    let squares = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) }
    return (squares / Double(values.count - 1)).squareRoot()
}
