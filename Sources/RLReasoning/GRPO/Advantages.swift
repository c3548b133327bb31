/// How rewards are normalised into advantages.
public enum RewardScaling: String, Sendable, Codable, CaseIterable {
    /// Divide by the group's standard deviation (Open-RS / TRL 0.15 behaviour).
    case group
    /// Divide by the standard deviation of the whole batch.
    case batch
    /// Do not divide (Dr. GRPO): `A = r - mean(group)`.
    case none
}

/// GRPO advantages: `(r - group mean) / (std + 1e-4)`, one per completion.
///
/// `rewards` holds consecutive groups of `groupSize` completions of the same prompt. The standard
/// deviation is the unbiased one (divisor n - 1), as `torch.std`. A group whose rewards are all
/// equal gets advantages of exactly 0.
public func groupAdvantages(rewards: [Float], groupSize: Int, scaling: RewardScaling = .group) -> [Float] {
    precondition(groupSize >= 1 && rewards.count % groupSize == 0,
                 "groupAdvantages: \(rewards.count) rewards do not split into groups of \(groupSize)")
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
