import RLTensor

/// The weights GRPO rollouts sample from (`rollout_dtype` in recipes).
public enum RolloutPrecision: String, Sendable, Codable, CaseIterable {
    /// The policy itself, as it is trained (`auto`, the default).
    case auto
    /// A copy of the policy whose matrices are bf16 (`bfloat16`; vectors and LoRA adapters stay
    /// f32), made once per generation batch from the current weights and dropped after it — what
    /// Open-RS's vLLM engine samples from. Decoding reads half the bytes per token; the loss, the
    /// reference and the old-policy log-probs still come from the trained weights. Costs 2 bytes
    /// per matrix element during generation (in the memory plan); a policy whose matrices are
    /// already bf16 (a LoRA run on a bf16 base) is used as it is. On a GPU the rollouts also keep
    /// activations and the KV cache in bf16 (`GenerationOptions.activationType`); the CPU keeps
    /// them f32, where bf16 activations would only be widened and rounded around f32 kernels.
    case bfloat16

    /// The activation type of rollouts on `device`: bf16 for `.bfloat16` off the CPU, else f32.
    func activationType(on device: Device) -> DType {
        self == .bfloat16 && device != .cpu ? .bf16 : .f32
    }
}
