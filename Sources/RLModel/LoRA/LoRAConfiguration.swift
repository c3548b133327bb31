/// The shape of a set of LoRA adapters, as PEFT's `LoraConfig` names it: each adapted projection
/// `W` (`[out, in]`) computes `W x + scaling · B A dropout(x)` with `A` `[rank, in]` and `B`
/// `[out, rank]`.
public struct LoRAConfiguration: Sendable, Equatable {
    /// The projections of a decoder layer that can carry adapters (PEFT's module names).
    public static let linearModules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

    /// The rank `r` of `A` and `B` (default 16).
    public var rank: Int
    /// `lora_alpha` (default 32): the update is scaled by `alpha / rank` (or `alpha / sqrt(rank)`).
    public var alpha: Double
    /// Dropout probability applied to the adapter's input in training forwards (default 0.05).
    public var dropout: Double
    /// Adapted projections, in `linearModules` order.
    public var targetModules: [String]
    /// rsLoRA: scale by `alpha / sqrt(rank)` instead of `alpha / rank` (default false).
    public var useRSLoRA: Bool

    /// Checks the settings; `targetModules` takes module names or `["all-linear"]`.
    public init(rank: Int = 16, alpha: Double = 32, dropout: Double = 0.05, targetModules: [String] = ["all-linear"],
                useRSLoRA: Bool = false) throws(LoRAError) {
        guard rank >= 1 else { throw .invalidSetting(key: "lora_r", reason: "must be at least 1, got \(rank)") }
        guard alpha.isFinite, alpha > 0 else { throw .invalidSetting(key: "lora_alpha", reason: "must be positive, got \(alpha)") }
        guard dropout.isFinite, dropout >= 0, dropout < 1 else {
            throw .invalidSetting(key: "lora_dropout", reason: "must be in [0, 1), got \(dropout)")
        }
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targetModules = try LoRAConfiguration.resolve(targetModules)
        self.useRSLoRA = useRSLoRA
    }

    /// The factor of `B A x`.
    public var scaling: Float { Float(useRSLoRA ? alpha / Double(rank).squareRoot() : alpha / Double(rank)) }

    /// Module names or `all-linear` (PEFT's shorthand for every linear layer but the LM head),
    /// as an ordered list without repeats.
    static func resolve(_ names: [String]) throws(LoRAError) -> [String] {
        guard !names.isEmpty else { throw .invalidSetting(key: "lora_target_modules", reason: "names no module") }
        if names.contains(where: { $0 == "all-linear" || $0 == "all_linear" }) { return linearModules }
        for name in names where !linearModules.contains(name) { throw .unsupportedTarget(name) }
        return linearModules.filter(names.contains)
    }
}
