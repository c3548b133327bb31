import RLTensor

/// A decoder-only language model of a supported family (`ModelFamily`: Qwen2ForCausalLM,
/// Qwen3ForCausalLM, LlamaForCausalLM): token embedding, decoder layers (RMSNorm, grouped-query
/// attention with rotary embeddings, SwiGLU MLP; the family decides biases, query/key norms and
/// RoPE scaling), final norm and LM head. It is this library's `CausalLanguageModel`.
///
/// The weights are a dictionary keyed by Hugging Face names (`model.layers.3.self_attn.q_proj.weight`),
/// so checkpoints, gradients and optimiser state line up by name. The same weights serve the
/// training forward (`logits`, `tokenLogProbs` under autograd) and the KV-cache inference path
/// (`prefill`, `decode`). A tied LM head reads the embedding.
public final class DecoderModel: CausalLanguageModel, @unchecked Sendable {
    public let config: ModelConfig
    /// Weights by Hugging Face name. Trainable weights are f32; bf16 weights serve inference.
    public private(set) var parameters: [String: Tensor]
    /// Each decoder layer's weight names.
    let layers: [LayerWeights]
    /// LoRA adapters applied live on top of the weights (nil: none).
    public internal(set) var adapters: LoRAAdapters?

    /// Wraps existing weights; every tensor `config` expects must be present with its shape, else
    /// throws `LanguageModelError.invalidArgument` naming it.
    public convenience init(config: ModelConfig, parameters: [String: Tensor]) throws {
        for (name, shape) in config.checkpointTensorShapes {
            guard let tensor = parameters[name] else { throw LanguageModelError.invalidArgument("parameters", "no weight \(name)") }
            guard tensor.shape == shape else {
                throw LanguageModelError.invalidArgument("parameters", "weight \(name) has shape \(tensor.shape), expected \(shape)")
            }
        }
        self.init(checked: config, parameters: parameters)
    }

    /// Weights already known to fit `config` (copies, conversions, checked loads).
    init(checked config: ModelConfig, parameters: [String: Tensor]) {
        self.config = config
        self.parameters = parameters
        layers = config.layerWeights
    }

    /// A model with random weights: normal(0, `initStd`) matrices and embeddings, zero biases,
    /// unit norms (as transformers initialises these families).
    public convenience init(randomWeights config: ModelConfig, seed: UInt64, initStd: Float = 0.02, device: Device = .cpu) {
        var parameters: [String: Tensor] = [:]
        for (index, (name, shape)) in config.checkpointTensorShapes.sorted(by: { $0.key < $1.key }).enumerated() {
            if name.hasSuffix("norm.weight") {
                parameters[name] = .ones(shape, device: device)
            } else if name.hasSuffix(".bias") {
                parameters[name] = .zeros(shape, device: device)
            } else {
                parameters[name] = .randomNormal(shape, std: initStd, seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15, device: device)
            }
        }
        self.init(checked: config, parameters: parameters)
    }

    /// The weight named `name` (a programmer error if absent).
    func weight(_ name: String) -> Tensor {
        guard let tensor = parameters[name] else { preconditionFailure("DecoderModel: no weight \(name)") }
        return tensor
    }

    /// Where the weights live; inputs are moved here.
    public var device: Device { weight("model.norm.weight").device }

    /// The LM head matrix `[vocab, hidden]` (the embedding when tied).
    var lmHead: Tensor { weight(config.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight") }

    /// Replaces weights (same names and shapes), e.g. to sync a reference copy; an unknown name or
    /// another shape throws `LanguageModelError.invalidArgument` and replaces nothing.
    public func replaceParameters(_ new: [String: Tensor]) throws {
        for (name, tensor) in new {
            guard let old = parameters[name] else { throw LanguageModelError.invalidArgument("new", "no weight \(name) in the model") }
            guard old.shape == tensor.shape else {
                throw LanguageModelError.invalidArgument("new", "weight \(name) has shape \(tensor.shape), the model's \(old.shape)")
            }
        }
        for (name, tensor) in new {
            parameters[name] = tensor
        }
    }

    /// A deep copy of the weights (e.g. a frozen reference model for the KL term), and of the
    /// adapters when attached.
    public func copy(as dtype: DType? = nil) -> DecoderModel {
        let copied = withoutGradients {
            parameters.mapValues { t in t.dtype == (dtype ?? t.dtype) ? t.copied() : t.cast(to: dtype!) }
        }
        let model = DecoderModel(checked: config, parameters: copied)
        model.adapters = adapters?.copy()
        return model
    }

    /// Attaches LoRA adapters made for this model's config (nil detaches them). The weights are
    /// not changed: the adapters are applied on the fly until detached.
    public func attachAdapters(_ adapters: LoRAAdapters?) throws(LoRAError) {
        if let adapters {
            let expected = LoRAAdapters.modules(adapters.configuration, config)
            guard Set(expected.keys) == Set(adapters.modules.keys),
                  expected.allSatisfy({ adapters.modules[$0.key].map { [$0.inputs, $0.outputs] } == [$0.value.inputs, $0.value.outputs] }) else {
                throw .tensorsDoNotMatch(folder: "adapters", reason: "they were made for a model of another shape")
            }
            if let tensor = adapters.parameters.values.first, tensor.device != device {
                throw .tensorsDoNotMatch(folder: "adapters", reason: "they live on \(tensor.device), the model on \(device)")
            }
        }
        self.adapters = adapters
    }

    /// A model without adapters whose weights have the attached adapters folded in
    /// (`W + scaling · B A`, stored in each weight's type); a plain copy when none are attached.
    public func mergingAdapters() -> DecoderModel {
        guard let adapters else { return copy() }
        return DecoderModel(checked: config, parameters: adapters.merged(into: parameters))
    }
}
