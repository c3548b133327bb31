import RLTensor

/// The per-token objective and how per-token losses are averaged into one number (TRL's
/// `loss_type`, same spellings).
public enum GRPOLossType: String, Sendable, Codable, CaseIterable {
    /// Token mean over the whole micro-batch (Open-RS; TRL 0.15 to 0.21 default).
    case bnpo
    /// Token mean per sequence, then mean over sequences (the original GRPO).
    case grpo
    /// Sum over tokens divided by `sequences x maxCompletionLength` (Dr. GRPO).
    case drGRPO = "dr_grpo"
    /// Sum over tokens divided by the token count of the whole generation batch (DAPO; TRL 1.x's default).
    case dapo
    /// CISPO (MiniMax-M1): `-sg(min(ratio, epsilon_high)) * A * log π` per token, summed and divided
    /// like `dapo`. Its `epsilon_high` is a ratio cap (TRL suggests 5), not a clip width.
    case cispo
    /// SAPO: a soft gate `sigmoid(τ (ratio - 1)) * 4 / τ` instead of clipping, τ chosen by the
    /// advantage's sign (`sapo_temperature_pos` / `_neg`); averaged like `grpo`.
    case sapo
}

/// Whether importance ratios are per token or one per completion (TRL's `importance_sampling_level`).
public enum ImportanceSamplingLevel: String, Sendable, Codable, CaseIterable {
    /// `exp(log π - log π_old)` per token (GRPO).
    case token
    /// GSPO: one ratio per completion, the exponential of the mean log-ratio over its counted tokens.
    case sequence
}

/// The GRPO objective's settings.
public struct GRPOLossConfiguration: Sendable, Equatable {
    /// KL coefficient (0 = no reference model).
    public var beta: Float = 0.04
    /// Lower clip range: the ratio is clipped to `[1 - epsilon, 1 + epsilonHigh]`.
    public var epsilon: Float = 0.2
    /// Upper clip range ("clip higher"); equals `epsilon` unless set. For `cispo`, the ratio cap.
    public var epsilonHigh: Float = 0.2
    public var lossType: GRPOLossType = .bnpo
    /// The completion length the `dr_grpo` denominator uses.
    public var maxCompletionLength: Int = 0
    /// Token count of the whole generation batch for `dapo` and `cispo` (defaults to this micro-batch's).
    public var dapoTokenCount: Float? = nil
    /// Counted tokens of the whole micro-batch across processes (the `bnpo` denominator); nil: this
    /// micro-batch's. Data-parallel ranks set it so that their losses add up to the whole batch's.
    public var batchTokenCount: Float? = nil
    /// Completions of the whole micro-batch across processes (the `grpo`, `sapo` and `dr_grpo`
    /// denominators); nil: this micro-batch's rows.
    public var batchRows: Int? = nil
    /// Token-level (default) or sequence-level (GSPO) importance ratios.
    public var importanceSamplingLevel: ImportanceSamplingLevel = .token
    /// Two-sided clipping (INTELLECT-2): the unclipped ratio is also capped at `delta` (> 1 + epsilonHigh
    /// recommended), which bounds the loss of tokens with negative advantages. nil = off.
    public var delta: Float? = nil
    /// SAPO's gate temperatures for positive and non-positive advantages (TRL: 1.0 and 1.05).
    public var sapoTemperaturePositive: Float = 1.0
    public var sapoTemperatureNegative: Float = 1.05
    /// Multiply the k3 KL by the importance ratio (DeepSeek-V3.2's unbiased estimator).
    public var useBiasCorrectionKL: Bool = false
    /// Train only on the tokens whose policy entropy is at or above this quantile of the batch's
    /// counted tokens (`top_entropy_quantile` ρ: 0.2 keeps the top 20 %; 1 keeps all). Needs entropies.
    public var topEntropyQuantile: Float = 1

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
public struct GRPOLossOutput: Sendable {
    public let loss: Tensor
    /// Mean over sequences of each sequence's token-mean k3 KL (TRL 0.15's logged `kl`).
    public let meanKL: Float
    /// Fraction of counted tokens whose surrogate was clipped (`clip_ratio`, TRL 0.15).
    public let clipRatio: Float
    /// TRL 1.x's `clip_ratio/low_mean`: counted tokens (completions, at sequence level) with ratio
    /// below `1 - epsilon` and a negative advantage; `high_mean`: above `1 + epsilonHigh` with a
    /// positive advantage; `region_mean`: either. Zero for `cispo` and `sapo`, which do not clip.
    public let clipRatioLow: Float
    public let clipRatioHigh: Float
    public let clipRatioRegion: Float
    /// Mean policy entropy (nats) over counted tokens, when entropies were given (`entropy`).
    public let meanEntropy: Float?
    /// Fraction of counted tokens the top-entropy filter kept (1 when it is off).
    public let entropyKeptFraction: Float
}

/// GRPO's per-token policy objective (clipped surrogate, CISPO or SAPO) plus `beta` times the k3
/// KL estimator, reduced by `configuration.lossType`, as TRL 1.x computes it.
///
/// - `logProbs`: `[G, C]` policy log-probs of the completion tokens (recorded for autograd).
/// - `oldLogProbs`: the log-probs at generation time (μ > 1); nil means `logProbs.detached()`,
///   making the ratio 1 in value with gradient ∇log π (TRL with μ = 1).
/// - `referenceLogProbs`: `[G, C]` from the frozen reference model (needed when beta ≠ 0).
/// - `advantages`: one per completion; `mask`: `[G, C]` f32, 1 for counted tokens.
/// - `entropies`: `[G, C]` policy entropies (no gradient), needed when `topEntropyQuantile < 1`;
///   when given, their mean is reported.
///
/// Throws `TrainingError.invalidArgument` naming the argument when the shapes disagree, when
/// `referenceLogProbs` is missing with `beta` ≠ 0, or when `entropies` are missing with
/// `topEntropyQuantile` < 1.
public func grpoLoss(logProbs: Tensor, oldLogProbs: Tensor? = nil, referenceLogProbs: Tensor?,
                     advantages: [Float], mask: Tensor, entropies: Tensor? = nil,
                     configuration c: GRPOLossConfiguration) throws -> GRPOLossOutput {
    func fail(_ name: String, _ reason: String) -> TrainingError { .invalidArgument(name: name, reason: reason) }
    guard logProbs.rank == 2 else { throw fail("logProbs", "must be [completions, tokens], got shape \(logProbs.shape)") }
    let (g, length) = (logProbs.shape[0], logProbs.shape[1])
    guard advantages.count == g else { throw fail("advantages", "must hold one per completion (\(g)), got \(advantages.count)") }
    guard mask.shape == logProbs.shape else { throw fail("mask", "must have the shape of logProbs \(logProbs.shape), got \(mask.shape)") }
    for (name, tensor) in [("oldLogProbs", oldLogProbs), ("referenceLogProbs", referenceLogProbs), ("entropies", entropies)] {
        if let tensor, tensor.shape != logProbs.shape {
            throw fail(name, "must have the shape of logProbs \(logProbs.shape), got \(tensor.shape)")
        }
    }
    guard c.topEntropyQuantile >= 1 || entropies != nil else {
        throw fail("entropies", "are needed when topEntropyQuantile < 1 (it is \(c.topEntropyQuantile)); pass tokenLogProbsAndEntropies' entropies")
    }
    let old = oldLogProbs ?? logProbs.detached()
    let logRatio = logProbs - old
    // [G, C] per token, or [G, 1] per completion (broadcast over its tokens below).
    let logWeights: Tensor
    switch c.importanceSamplingLevel {
    case .token: logWeights = logRatio
    case .sequence:
        let lengths = mask.sum(axis: 1).clamped(min: 1, max: .greatestFiniteMagnitude)
        logWeights = ((logRatio * mask).sum(axis: 1) / lengths).reshaped([g, 1])
    }
    let ratio = logWeights.exp()
    let a = Tensor(advantages, shape: [g, 1], device: logProbs.device)
    var perToken: Tensor
    var clipped: (unclipped: Tensor, clipped: Tensor)?
    var clipRatioBase: Tensor?  // the ratio the clip metrics look at (after delta, as TRL)
    switch c.lossType {
    case .cispo:
        let cappedWeight = ratio.clamped(min: -.greatestFiniteMagnitude, max: c.epsilonHigh).detached()
        perToken = -(cappedWeight * a * logProbs)
    case .sapo:
        let temperatures = Tensor(advantages.map { $0 > 0 ? c.sapoTemperaturePositive : c.sapoTemperatureNegative },
                                  shape: [g, 1], device: logProbs.device)
        let gate = (temperatures * (ratio - 1)).sigmoid() * 4 / temperatures
        perToken = -(gate * a)
    case .grpo, .bnpo, .drGRPO, .dapo:
        let clippedRatio = ratio.clamped(min: 1 - c.epsilon, max: 1 + c.epsilonHigh)
        let capped = c.delta.map { ratio.clamped(min: -.greatestFiniteMagnitude, max: $0) } ?? ratio
        let unclippedTerm = capped * a, clippedTerm = clippedRatio * a
        perToken = -Tensor.minimum(unclippedTerm, clippedTerm)
        clipped = (unclippedTerm, clippedTerm)
        clipRatioBase = capped
    }
    // Shape [G, C] from here on, so masks apply per token.
    if perToken.shape != mask.shape { perToken = perToken * Tensor.ones(mask.shape, device: mask.device) }
    var lossMask = mask
    var keptFraction: Float = 1
    if c.topEntropyQuantile < 1, let entropies {
        lossMask = withoutGradients { highEntropyMask(entropies, mask: mask, keep: c.topEntropyQuantile) }
        keptFraction = withoutGradients { lossMask.sum().item() / Swift.max(mask.sum().item(), 1) }
        perToken = perToken * lossMask
    }
    var meanKL: Float = 0
    if c.beta != 0 {
        guard let referenceLogProbs else { throw fail("referenceLogProbs", "are needed when beta ≠ 0 (it is \(c.beta))") }
        let delta = referenceLogProbs - logProbs
        var kl = delta.exp() - delta - 1
        if c.useBiasCorrectionKL { kl = kl * ratio }
        perToken = perToken + kl * c.beta
        meanKL = withoutGradients { sequenceMean(kl, mask: mask) }
    }
    let masked = perToken * mask
    let tokenCount = mask.sum().item()
    let loss: Tensor
    switch c.lossType {
    case .bnpo:
        loss = masked.sum() / Swift.max(c.batchTokenCount ?? tokenCount, 1)
    case .grpo, .sapo:
        let perSequence = masked.sum(axis: 1) / mask.sum(axis: 1).clamped(min: 1, max: .greatestFiniteMagnitude)
        loss = c.batchRows.map { perSequence.sum() / Float($0) } ?? perSequence.mean()
    case .drGRPO:
        loss = masked.sum() / Float((c.batchRows ?? g) * Swift.max(c.maxCompletionLength, length))
    case .dapo, .cispo:
        loss = masked.sum() / Swift.max(c.dapoTokenCount ?? tokenCount, 1)
    }
    let metrics: (Float, Float, Float, Float) = withoutGradients {
        guard let clipped, let base = clipRatioBase else { return (0, 0, 0, 0) }
        let wasClipped = Tensor.less(clipped.clipped, clipped.unclipped) * mask
        let clipRatio = wasClipped.sum().item() / Swift.max(tokenCount, 1)
        let negative = Tensor.less(a, Tensor(scalar: 0, device: a.device))
        let positive = Tensor.greater(a, Tensor(scalar: 0, device: a.device))
        let low = Tensor.less(base, Tensor(scalar: 1 - c.epsilon, device: a.device)) * negative
        let high = Tensor.greater(base, Tensor(scalar: 1 + c.epsilonHigh, device: a.device)) * positive
        let region = Tensor.maximum(low, high)
        /// TRL's global masked mean: over counted tokens, or over completions at sequence level.
        func share(_ flags: Tensor) -> Float {
            if c.importanceSamplingLevel == .sequence { return flags.mean().item() }
            return (flags * mask).sum().item() / Swift.max(tokenCount, 1)
        }
        return (clipRatio, share(low), share(high), share(region))
    }
    let meanEntropy: Float? = entropies.map { e in withoutGradients { (e * mask).sum().item() / Swift.max(tokenCount, 1) } }
    return GRPOLossOutput(loss: loss, meanKL: meanKL, clipRatio: metrics.0, clipRatioLow: metrics.1, clipRatioHigh: metrics.2,
                          clipRatioRegion: metrics.3, meanEntropy: meanEntropy, entropyKeptFraction: keptFraction)
}

/// 1 for the counted tokens whose entropy is at or above the `1 - keep` quantile of all counted
/// tokens' entropies (linear interpolation between order statistics, as `torch.quantile`), else 0.
func highEntropyMask(_ entropies: Tensor, mask: Tensor, keep: Float) -> Tensor {
    let values = entropies.toFloatArray(), counted = mask.toFloatArray()
    let selected = zip(values, counted).filter { $0.1 != 0 }.map(\.0).sorted()
    guard !selected.isEmpty else { return Tensor.zeros(mask.shape, device: mask.device) }
    let position = Double(1 - keep) * Double(selected.count - 1)
    let lower = Int(position.rounded(.down)), upper = Swift.min(lower + 1, selected.count - 1)
    let fraction = Float(position - Double(lower))
    let threshold = selected[lower] + fraction * (selected[upper] - selected[lower])
    let flags: [Float] = zip(values, counted).map { value, isCounted in isCounted != 0 && value * isCounted >= threshold ? 1 : 0 }
    return Tensor(flags, shape: mask.shape, device: mask.device)
}

/// Mean over rows of each row's masked token mean (rows with no counted token count as 0).
func sequenceMean(_ values: Tensor, mask: Tensor) -> Float {
    let perRow = (values * mask).sum(axis: 1) / mask.sum(axis: 1).clamped(min: 1, max: .greatestFiniteMagnitude)
    return perRow.mean().item()
}
