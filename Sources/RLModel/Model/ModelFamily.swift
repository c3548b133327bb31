/// The model families this library implements, named by `config.json`'s `model_type`. They share
/// one decoder (`DecoderModel`): RMSNorm, grouped-query attention with rotary embeddings, a SwiGLU
/// MLP; they differ in biases, per-head query/key norms and RoPE scaling (`LayerLayout`).
public enum ModelFamily: String, Sendable, CaseIterable {
    /// Qwen2 / Qwen2.5 (DeepSeek-R1-Distill-Qwen): q/k/v biases.
    case qwen2
    /// Qwen3: RMSNorm of each query and key head before RoPE, `head_dim` independent of the hidden
    /// size, optional attention biases.
    case qwen3
    /// Llama (Llama 3, DeepSeek-R1-Distill-Llama): optional attention and MLP biases, `linear` or
    /// `llama3` RoPE scaling.
    case llama

    /// The transformers class, as `architectures` names it.
    public var architecture: String {
        switch self {
        case .qwen2: "Qwen2ForCausalLM"
        case .qwen3: "Qwen3ForCausalLM"
        case .llama: "LlamaForCausalLM"
        }
    }
}
