import RLTensor

/// How per-token losses are averaged into one number.
public enum GRPOLossType: String, Sendable, Codable, CaseIterable {
    /// Token mean over the whole micro-batch (Open-RS; TRL 0.15 to 0.21 default).
    case bnpo
    /// Token mean per sequence, then mean over sequences (the original GRPO).
    case grpo
    /// Sum over tokens divided by `sequences x maxCompletionLength` (Dr. GRPO).
    case drGRPO = "dr_grpo"
    /// Sum over tokens divided by the token count of the whole generation batch (DAPO).
    case dapo
}

/// The GRPO objective's settings.
public struct GRPOLossConfiguration: Sendable, Equatable {
    /// KL coefficient (0 = no reference model).
    public var beta: Float = 0.04
    /// Lower clip range: the ratio is clipped to `[1 - epsilon, 1 + epsilonHigh]`.
    public var epsilon: Float = 0.2
    /// Upper clip range ("clip higher"); equals `epsilon` unless set.
    public var epsilonHigh: Float = 0.2
    public var lossType: GRPOLossType = .bnpo
    /// The completion length the `dr_grpo` denominator uses.
    public var maxCompletionLength: Int = 0
    /// Token count of the whole generation batch for `dapo` (defaults to this micro-batch's).
    public var dapoTokenCount: Float? = nil

    public init(beta: Float = 0.04, epsilon: Float = 0.2, epsilonHigh: Float? = nil, lossType: GRPOLossType = .bnpo,
                maxCompletionLength: Int = 0) {
        self.beta = beta
        self.epsilon = epsilon
        self.epsilonHigh = epsilonHigh ?? epsilon
        self.lossType = lossType
        self.maxCompletionLength = maxCompletionLength
    }
}

/// The GRPO loss of one micro-batch and what TRL logs about it.
public struct GRPOLossOutput {
    public let loss: Tensor
    /// Mean over sequences of each sequence's token-mean k3 KL (TRL's logged `kl`).
    public let meanKL: Float
    /// Fraction of counted tokens whose ratio was clipped.
    public let clipRatio: Float
}

/// GRPO's per-token clipped surrogate plus `beta` times the k3 KL estimator, reduced by
/// `configuration.lossType`.
///
/// - `logProbs`: `[G, C]` policy log-probs of the completion tokens (recorded for autograd).
/// - `oldLogProbs`: the log-probs at generation time (μ > 1); nil means `logProbs.detached()`,
///   making the ratio 1 in value with gradient ∇log π (TRL with μ = 1).
/// - `referenceLogProbs`: `[G, C]` from the frozen reference model (needed when beta ≠ 0).
/// - `advantages`: one per completion; `mask`: `[G, C]` f32, 1 for counted tokens.
public func grpoLoss(logProbs: Tensor, oldLogProbs: Tensor? = nil, referenceLogProbs: Tensor?,
                     advantages: [Float], mask: Tensor, configuration c: GRPOLossConfiguration) -> GRPOLossOutput {
    let (g, length) = (logProbs.shape[0], logProbs.shape[1])
    precondition(advantages.count == g, "grpoLoss: \(advantages.count) advantages for \(g) completions")
    precondition(mask.shape == logProbs.shape, "grpoLoss: mask \(mask.shape) != log-probs \(logProbs.shape)")
    let old = oldLogProbs ?? logProbs.detached()
    let ratio = (logProbs - old).exp()
    let a = Tensor(advantages, shape: [g, 1], device: logProbs.device)
    let unclipped = ratio * a
    let clipped = ratio.clamped(min: 1 - c.epsilon, max: 1 + c.epsilonHigh) * a
    var perToken = -Tensor.minimum(unclipped, clipped)
    var meanKL: Float = 0
    if c.beta != 0 {
        guard let referenceLogProbs else { preconditionFailure("grpoLoss: beta = \(c.beta) needs reference log-probs") }
        let delta = referenceLogProbs - logProbs
        let kl = delta.exp() - delta - 1
        perToken = perToken + kl * c.beta
        meanKL = withoutGradients { sequenceMean(kl, mask: mask) }
    }
    let masked = perToken * mask
    let tokenCount = mask.sum().item()
    let loss: Tensor
    switch c.lossType {
    case .bnpo:
        loss = masked.sum() / Swift.max(tokenCount, 1)
    case .grpo:
        let perSequence = masked.sum(axis: 1) / mask.sum(axis: 1).clamped(min: 1, max: .greatestFiniteMagnitude)
        loss = perSequence.mean()
    case .drGRPO:
        loss = masked.sum() / Float(g * Swift.max(c.maxCompletionLength, length))
    case .dapo:
        loss = masked.sum() / Swift.max(c.dapoTokenCount ?? tokenCount, 1)
    }
    let clipRatio: Float = withoutGradients {
        let wasClipped = Tensor.less(clipped, unclipped) * mask
        return wasClipped.sum().item() / Swift.max(tokenCount, 1)
    }
    return GRPOLossOutput(loss: loss, meanKL: meanKL, clipRatio: clipRatio)
}

/// Mean over rows of each row's masked token mean (rows with no counted token count as 0).
func sequenceMean(_ values: Tensor, mask: Tensor) -> Float {
    let perRow = (values * mask).sum(axis: 1) / mask.sum(axis: 1).clamped(min: 1, max: .greatestFiniteMagnitude)
    return perRow.mean().item()
}
