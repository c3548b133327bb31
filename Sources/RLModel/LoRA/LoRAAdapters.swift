import RLTensor

/// LoRA adapters of a decoder model: on every adapted projection `W` of every layer, the output
/// becomes `W x + scaling · B A dropout(x)`. Only `A` and `B` are trained; the base weights stay
/// frozen (and may be bf16). Attach them with `CausalLanguageModel.attachAdapters(_:)`: training
/// forwards, the KV-cache inference path and generation then use them live, without merging.
///
/// Tensors are keyed as PEFT saves them (`base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight`),
/// so `save(to:)` writes a folder `peft.PeftModel.from_pretrained` loads, and `load(from:config:)`
/// reads PEFT's.
public final class LoRAAdapters: @unchecked Sendable {
    public let configuration: LoRAConfiguration
    /// `A` (`[rank, in]`) and `B` (`[out, rank]`) of every adapted projection, f32, by PEFT name.
    public private(set) var parameters: [String: Tensor]
    /// While false the model computes its base output (the reference model of the KL term).
    public var isEnabled = true
    /// Seeds the dropout masks of training forwards (inside `valueAndGrad`). A layer
    /// recomputed during backward (`recomputeLayers`) draws the same masks, as long as the seed
    /// is not changed in between; a trainer sets a new one for each forward.
    public var dropoutSeed: UInt64 = 0
    /// The base model's name or folder, written as `base_model_name_or_path` by `save(to:)`.
    public var baseModelNameOrPath: String?
    /// Base weight name (`model.layers.0.self_attn.q_proj.weight`) → its adapter.
    let modules: [String: Module]

    struct Module: Sendable {
        let a: String, b: String
        /// Position among all adapted projections (seeds its dropout mask).
        let index: Int
        let inputs: Int, outputs: Int
    }

    /// New adapters initialised as PEFT does: `A` uniform in ±1/sqrt(in) (Kaiming-uniform with
    /// a = sqrt 5), `B` zero, so the adapted model starts equal to the base.
    public convenience init(configuration: LoRAConfiguration, model config: ModelConfig, seed: UInt64, device: Device = .cpu) {
        let modules = LoRAAdapters.modules(configuration, config)
        var parameters: [String: Tensor] = [:]
        for module in modules.values {
            let bound = 1 / Float(module.inputs).squareRoot()
            parameters[module.a] = .randomUniform([configuration.rank, module.inputs], low: -bound, high: bound,
                                                  seed: Generator.sequenceSeed(seed, module.index), device: device)
            parameters[module.b] = .zeros([module.outputs, configuration.rank], device: device)
        }
        try! self.init(configuration: configuration, model: config, parameters: parameters, source: "")
    }

    /// Adapters from existing tensors; every `A` and `B` the configuration implies must be
    /// present with its shape, and nothing else.
    public init(configuration: LoRAConfiguration, model config: ModelConfig, parameters: [String: Tensor],
                source: String = "the given tensors") throws(LoRAError) {
        let modules = LoRAAdapters.modules(configuration, config)
        var expected: [String: [Int]] = [:]
        for module in modules.values {
            expected[module.a] = [configuration.rank, module.inputs]
            expected[module.b] = [module.outputs, configuration.rank]
        }
        let missing = expected.keys.filter { parameters[$0] == nil }.sorted()
        let unexpected = parameters.keys.filter { expected[$0] == nil }.sorted()
        let misshaped = expected.compactMap { name, shape in
            parameters[name].flatMap { $0.shape == shape ? nil : "\(name) is \($0.shape), expected \(shape)" }
        }.sorted()
        var problems: [String] = []
        if !missing.isEmpty { problems.append("missing \(missing.prefix(3).joined(separator: ", "))\(missing.count > 3 ? " and \(missing.count - 3) more" : "")") }
        if !unexpected.isEmpty { problems.append("unexpected \(unexpected.prefix(3).joined(separator: ", "))\(unexpected.count > 3 ? " and \(unexpected.count - 3) more" : "")") }
        problems += misshaped.prefix(3)
        guard problems.isEmpty else { throw .tensorsDoNotMatch(folder: source, reason: problems.joined(separator: "; ")) }
        self.configuration = configuration
        self.modules = modules
        self.parameters = withoutGradients { parameters.mapValues { $0.dtype == .f32 ? $0 : $0.cast(to: .f32) } }
    }

    /// The adapter of every adapted projection, keyed by the base weight's name.
    static func modules(_ configuration: LoRAConfiguration, _ config: ModelConfig) -> [String: Module] {
        let shapes = config.checkpointTensorShapes
        var modules: [String: Module] = [:]
        for layer in config.layerWeights {
            let byModule = ["q_proj": layer.query, "k_proj": layer.key, "v_proj": layer.value, "o_proj": layer.output,
                            "gate_proj": layer.gate, "up_proj": layer.up, "down_proj": layer.down]
            for module in configuration.targetModules {
                let weight = byModule[module]!
                let stem = "base_model.model." + weight.dropLast(".weight".count)
                let shape = shapes[weight]!
                modules[weight] = Module(a: stem + ".lora_A.weight", b: stem + ".lora_B.weight", index: modules.count,
                                         inputs: shape[1], outputs: shape[0])
            }
        }
        return modules
    }

    /// `scaling · B A dropout(x)` for the projection whose base weight is `weight`, or nil when
    /// it has no adapter or the adapters are switched off. Dropout applies only in training
    /// forwards (`isTrainingForward`: inside `valueAndGrad`, checkpointed blocks included).
    func update(_ x: Tensor, weight: String) -> Tensor? {
        guard isEnabled, let module = modules[weight] else { return nil }
        var input = x
        if configuration.dropout > 0 && isTrainingForward {
            input = x.dropout(probability: Float(configuration.dropout), seed: Generator.sequenceSeed(dropoutSeed, module.index))
        }
        // Scaling the rank-wide A x rather than the output saves a full-width pass.
        return (input.linear(parameters[module.a]!) * configuration.scaling).linear(parameters[module.b]!)
    }

    /// Runs `body` with the adapters switched off (the base model's output).
    public func withoutAdapters<T>(_ body: () throws -> T) rethrows -> T {
        let was = isEnabled
        isEnabled = false
        defer { isEnabled = was }
        return try body()
    }

    /// `weights` with every adapted matrix replaced by `W + scaling · B A` (computed in f32,
    /// stored in `W`'s type): a plain model that computes what base plus adapters compute.
    func merged(into weights: [String: Tensor]) -> [String: Tensor] {
        withoutGradients {
            var result = weights
            for (name, module) in modules {
                guard let base = weights[name] else { preconditionFailure("LoRA: the model has no weight \(name)") }
                let delta = parameters[module.b]!.matmul(parameters[module.a]!) * configuration.scaling
                let sum = (base.dtype == .f32 ? base : base.cast(to: .f32)) + delta
                result[name] = base.dtype == .f32 ? sum : sum.cast(to: base.dtype)
            }
            return result
        }
    }

    /// A deep copy (same configuration, copied tensors, switched on).
    public func copy() -> LoRAAdapters {
        let copied = withoutGradients { parameters.mapValues { $0.copied() } }
        let result = LoRAAdapters(configuration: configuration, modules: modules, parameters: copied)
        result.dropoutSeed = dropoutSeed
        result.baseModelNameOrPath = baseModelNameOrPath
        return result
    }

    private init(configuration: LoRAConfiguration, modules: [String: Module], parameters: [String: Tensor]) {
        self.configuration = configuration
        self.modules = modules
        self.parameters = parameters
    }

    /// Overwrites every tensor's values with those of `other` (same configuration and shapes),
    /// in place: tensors shared with an optimizer stay shared.
    public func assign(from other: LoRAAdapters) throws(LoRAError) {
        guard other.configuration == configuration, Set(other.parameters.keys) == Set(parameters.keys) else {
            throw .tensorsDoNotMatch(folder: "adapters", reason: "their configuration differs from the model's adapters")
        }
        for (name, tensor) in parameters { tensor.assign(other.parameters[name]!.to(tensor.device)) }
    }
}
