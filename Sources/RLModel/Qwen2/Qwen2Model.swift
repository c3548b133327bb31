import RLTensor

/// A Qwen2 decoder-only language model (Qwen2ForCausalLM): token embedding, decoder layers
/// (RMSNorm, grouped-query attention with q/k/v biases and rotary embeddings, SwiGLU MLP),
/// final norm and LM head.
///
/// The weights are a dictionary keyed by Hugging Face names (`model.layers.3.self_attn.q_proj.weight`),
/// so checkpoints, gradients and optimiser state line up by name. The same weights serve the
/// training forward (`logits`, `tokenLogProbs` under autograd) and the KV-cache inference path
/// (`prefill`, `decode`). A tied LM head reads the embedding.
public final class Qwen2Model: @unchecked Sendable {
    public let config: Qwen2Config
    /// Weights by Hugging Face name. Trainable weights are f32; bf16 weights serve inference.
    public private(set) var parameters: [String: Tensor]

    /// Wraps existing weights; every expected tensor must be present with its expected shape.
    public init(config: Qwen2Config, parameters: [String: Tensor]) {
        self.config = config
        self.parameters = parameters
        for (name, shape) in config.checkpointTensorShapes {
            guard let tensor = parameters[name] else { preconditionFailure("Qwen2Model: missing weight \(name)") }
            precondition(tensor.shape == shape, "Qwen2Model: weight \(name) has shape \(tensor.shape), expected \(shape)")
        }
    }

    /// A model with random weights: normal(0, `initStd`) matrices and embeddings, zero biases,
    /// unit norms (as transformers initialises Qwen2).
    public convenience init(randomWeights config: Qwen2Config, seed: UInt64, initStd: Float = 0.02, device: Device = .cpu) {
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
        self.init(config: config, parameters: parameters)
    }

    /// The weight named `name` (a programmer error if absent).
    func weight(_ name: String) -> Tensor {
        guard let tensor = parameters[name] else { preconditionFailure("Qwen2Model: no weight \(name)") }
        return tensor
    }

    /// Where the weights live; inputs are moved here.
    public var device: Device { weight("model.norm.weight").device }

    /// The LM head matrix `[vocab, hidden]` (the embedding when tied).
    var lmHead: Tensor { weight(config.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight") }

    /// Replaces weights (same names and shapes), e.g. to sync a reference copy.
    public func replaceParameters(_ new: [String: Tensor]) {
        for (name, tensor) in new {
            guard let old = parameters[name] else { preconditionFailure("Qwen2Model: unknown weight \(name)") }
            precondition(old.shape == tensor.shape, "Qwen2Model: weight \(name) shape \(tensor.shape) != \(old.shape)")
            parameters[name] = tensor
        }
    }

    /// A deep copy of the weights (e.g. a frozen reference model for the KL term).
    public func copy(as dtype: DType? = nil) -> Qwen2Model {
        let copied = withoutGradients {
            parameters.mapValues { t in t.dtype == (dtype ?? t.dtype) ? t.copied() : t.cast(to: dtype!) }
        }
        return Qwen2Model(config: config, parameters: copied)
    }
}
