import FoundationEssentials

/// The architecture settings of a decoder-only model of a supported family (Qwen2, Qwen3, Llama;
/// see `ModelFamily`), as in its Hugging Face `config.json`.
///
/// Reads what transformers 4.x writes (`rope_theta`, `torch_dtype`, `rope_scaling`) and what
/// 5.x writes (`rope_parameters`, `dtype`, `layer_types`); writes a file both load, with the keys
/// of the model's family.
public struct ModelConfig: Codable, Equatable, Sendable {
    /// `model_type`: `qwen2`, `qwen3` or `llama` (others are refused by `validate`).
    public var modelType: String
    public var architectures: [String]
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    /// Width of one attention head: `head_dim` if the file gives it, else hidden / heads.
    public var headDim: Int
    public var maxPositionEmbeddings: Int
    public var rmsNormEps: Double
    public var ropeTheta: Double
    /// `"default"` for plain RoPE, `"linear"` or `"llama3"` for the scaled variants described by
    /// `ropeScaling`; any other value is refused by `validate`.
    public var ropeType: String
    /// The scaling parameters of a `linear` or `llama3` RoPE (nil for plain RoPE).
    public var ropeScaling: RoPEScaling?
    /// Biases on the attention projections (`attention_bias`; Qwen3 and Llama: q, k, v and o).
    /// Qwen2 always has q/k/v biases and no o bias, whatever this says.
    public var attentionBias: Bool
    /// Biases on the MLP projections (`mlp_bias`, Llama).
    public var mlpBias: Bool
    public var hiddenAct: String
    public var tieWordEmbeddings: Bool
    public var useSlidingWindow: Bool
    public var slidingWindow: Int?
    public var maxWindowLayers: Int
    /// Per-layer attention kinds (transformers 5), if the file lists them.
    public var layerTypes: [String]?
    public var attentionDropout: Double
    public var initializerRange: Double
    public var useCache: Bool
    public var bosTokenID: Int?
    public var eosTokenID: TokenIDs?
    public var padTokenID: Int?
    /// Storage dtype of the weights as torch names it (`"bfloat16"`, `"float32"`), if given.
    public var dtype: String?
    public var transformersVersion: String?

    /// A config of `family` (default Qwen2); the defaults are transformers' defaults for Qwen2.
    public init(
        family: ModelFamily = .qwen2,
        vocabSize: Int, hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int,
        numAttentionHeads: Int, numKeyValueHeads: Int, headDim: Int? = nil,
        maxPositionEmbeddings: Int = 32768, rmsNormEps: Double = 1e-6, ropeTheta: Double = 10000,
        ropeScaling: RoPEScaling? = nil, attentionBias: Bool = false, mlpBias: Bool = false,
        tieWordEmbeddings: Bool = false, bosTokenID: Int? = nil, eosTokenID: TokenIDs? = nil,
        dtype: String? = nil
    ) {
        modelType = family.rawValue
        architectures = [family.architecture]
        self.ropeScaling = ropeScaling
        self.attentionBias = attentionBias
        self.mlpBias = mlpBias
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.numKeyValueHeads = numKeyValueHeads
        self.headDim = headDim ?? (numAttentionHeads > 0 ? hiddenSize / numAttentionHeads : 0)
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        ropeType = ropeScaling?.ropeType ?? "default"
        hiddenAct = "silu"
        self.tieWordEmbeddings = tieWordEmbeddings
        useSlidingWindow = false
        slidingWindow = nil
        maxWindowLayers = 28
        layerTypes = nil
        attentionDropout = 0
        initializerRange = 0.02
        useCache = true
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
        padTokenID = nil
        self.dtype = dtype
        transformersVersion = nil
    }

    /// Reads and validates the `config.json` at `url`.
    public static func load(from url: URL) throws(CheckpointError) -> ModelConfig {
        let config = try ConfigJSON.load(ModelConfig.self, from: url)
        try config.validate(file: url.path)
        return config
    }

    /// Parses and validates `config.json` text; `file` names the source in errors.
    public init(jsonData: Data, file: String = "config.json") throws(CheckpointError) {
        self = try ConfigJSON.decode(ModelConfig.self, from: jsonData, file: file)
        try validate(file: file)
    }

    /// The config as a `config.json` that transformers 4.x and 5.x load.
    public func jsonData() -> Data { ConfigJSON.encode(self) }

    /// Writes `jsonData()` to `url` atomically.
    public func write(to url: URL) throws(CheckpointError) {
        try ConfigJSON.write(jsonData(), to: url)
    }

    /// The model family `model_type` names, or nil when it is not one this library implements.
    public var family: ModelFamily? { ModelFamily(rawValue: modelType) }

    /// Checks that this library implements the model the config describes: a Qwen2, Qwen3 or
    /// Llama decoder (SiLU, plain, linear or llama3 RoPE, full attention) with consistent sizes.
    public func validate(file: String) throws(CheckpointError) {
        func unsupported(_ key: String, _ reason: String) -> CheckpointError {
            .unsupportedConfig(file: file, key: key, reason: reason)
        }
        func invalid(_ key: String, _ reason: String) -> CheckpointError {
            .invalidConfig(file: file, key: key, reason: reason)
        }
        guard family != nil else {
            throw unsupported("model_type", "'\(modelType)' (architectures \(architectures)); supported: "
                + ModelFamily.allCases.map { "'\($0.rawValue)' (\($0.architecture))" }.joined(separator: ", "))
        }
        guard hiddenAct == "silu" else { throw unsupported("hidden_act", "'\(hiddenAct)'; only 'silu' is implemented") }
        guard ropeType == "default" || ropeScaling != nil else {
            throw unsupported("rope_scaling", "RoPE scaling '\(ropeType)'; plain, 'linear' and 'llama3' RoPE are implemented")
        }
        if let ropeScaling { try ropeScaling.validate(file: file) }
        guard !useSlidingWindow else {
            throw unsupported("use_sliding_window", "sliding-window attention; set use_sliding_window to false")
        }
        if let layerTypes {
            if let other = layerTypes.first(where: { $0 != "full_attention" }) {
                throw unsupported("layer_types", "'\(other)'; only full_attention layers are implemented")
            }
            guard layerTypes.count == numHiddenLayers else {
                throw invalid("layer_types", "lists \(layerTypes.count) layers but num_hidden_layers is \(numHiddenLayers)")
            }
        }
        let positive: [(String, Int)] = [
            ("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
            ("num_hidden_layers", numHiddenLayers), ("num_attention_heads", numAttentionHeads),
            ("num_key_value_heads", numKeyValueHeads), ("head_dim", headDim),
            ("max_position_embeddings", maxPositionEmbeddings),
        ]
        for (key, value) in positive where value <= 0 {
            throw invalid(key, "must be positive, found \(value)")
        }
        // Far above any real model, and low enough that sizes computed from the shapes (parameter
        // counts, byte counts, memory plans) cannot overflow Int.
        let largest: [(String, Int, Int)] = [
            ("vocab_size", vocabSize, 1 << 24), ("hidden_size", hiddenSize, 1 << 20), ("intermediate_size", intermediateSize, 1 << 22),
            ("num_hidden_layers", numHiddenLayers, 1 << 14), ("num_attention_heads", numAttentionHeads, 1 << 14),
            ("num_key_value_heads", numKeyValueHeads, 1 << 14), ("head_dim", headDim, 1 << 14),
        ]
        for (key, value, limit) in largest where value > limit {
            throw invalid(key, "\(value) is larger than this library supports (at most \(limit))")
        }
        var parameters = 0, overflow = false
        for shape in checkpointTensorShapes.values where !overflow {
            var count = 1
            for dimension in shape where !overflow { (count, overflow) = count.multipliedReportingOverflow(by: dimension) }
            if !overflow { (parameters, overflow) = parameters.addingReportingOverflow(count) }
        }
        guard !overflow, parameters <= 1 << 42 else {
            throw invalid("num_hidden_layers", "the shapes describe more than 2^42 parameters, more than this library supports")
        }
        guard numAttentionHeads % numKeyValueHeads == 0 else {
            throw invalid("num_key_value_heads", "\(numKeyValueHeads) does not divide num_attention_heads \(numAttentionHeads)")
        }
        guard headDim % 2 == 0 else { throw invalid("head_dim", "\(headDim) must be even for RoPE") }
        guard rmsNormEps > 0 else { throw invalid("rms_norm_eps", "must be positive, found \(rmsNormEps)") }
        guard ropeTheta > 0 else { throw invalid("rope_theta", "must be positive, found \(ropeTheta)") }
    }

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", architectures
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads", headDim = "head_dim"
        case maxPositionEmbeddings = "max_position_embeddings", rmsNormEps = "rms_norm_eps"
        case ropeTheta = "rope_theta", ropeParameters = "rope_parameters", ropeScaling = "rope_scaling"
        case hiddenAct = "hidden_act", tieWordEmbeddings = "tie_word_embeddings"
        case useSlidingWindow = "use_sliding_window", slidingWindow = "sliding_window", maxWindowLayers = "max_window_layers"
        case layerTypes = "layer_types", attentionDropout = "attention_dropout", initializerRange = "initializer_range"
        case useCache = "use_cache", bosTokenID = "bos_token_id", eosTokenID = "eos_token_id", padTokenID = "pad_token_id"
        case dtype, torchDType = "torch_dtype", transformersVersion = "transformers_version"
        case attentionBias = "attention_bias", mlpBias = "mlp_bias", pretrainingTP = "pretraining_tp"
    }

    /// `rope_parameters` (transformers 5) or `rope_scaling` (4.x).
    private struct RopeSettings: Codable {
        var ropeTheta: Double?
        var ropeType: String?
        var type: String?
        var factor: Double?
        var lowFreqFactor: Double?
        var highFreqFactor: Double?
        var originalMaxPositionEmbeddings: Int?
        enum CodingKeys: String, CodingKey {
            case ropeTheta = "rope_theta", ropeType = "rope_type", type, factor
            case lowFreqFactor = "low_freq_factor", highFreqFactor = "high_freq_factor"
            case originalMaxPositionEmbeddings = "original_max_position_embeddings"
        }

        init(ropeTheta: Double?, ropeType: String?, scaling: RoPEScaling? = nil) {
            self.ropeTheta = ropeTheta
            self.ropeType = ropeType
            switch scaling {
            case .linear(let factor): self.factor = factor
            case .llama3(let factor, let low, let high, let original):
                self.factor = factor
                lowFreqFactor = low
                highFreqFactor = high
                originalMaxPositionEmbeddings = original
            case nil: break
            }
        }

        /// The scaling these settings describe (nil for plain RoPE or an unknown type, which
        /// `validate` refuses through `ropeType`).
        var scaling: RoPEScaling? {
            switch ropeType ?? type {
            case "linear": return .linear(factor: factor ?? 1)
            case "llama3":
                return .llama3(factor: factor ?? 1, lowFrequencyFactor: lowFreqFactor ?? 1, highFrequencyFactor: highFreqFactor ?? 4,
                               originalMaxPositions: originalMaxPositionEmbeddings ?? 8192)
            default: return nil
            }
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decode(String.self, forKey: .modelType)
        architectures = try c.decodeIfPresent([String].self, forKey: .architectures) ?? []
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        numKeyValueHeads = try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads) ?? numAttentionHeads
        if let headDim = try c.decodeIfPresent(Int.self, forKey: .headDim) {
            self.headDim = headDim
        } else {
            guard numAttentionHeads > 0, hiddenSize % numAttentionHeads == 0 else {
                throw DecodingError.dataCorruptedError(forKey: .hiddenSize, in: c, debugDescription:
                    "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(numAttentionHeads) and head_dim is absent")
            }
            headDim = hiddenSize / numAttentionHeads
        }
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 32768
        rmsNormEps = try c.decodeIfPresent(Double.self, forKey: .rmsNormEps) ?? 1e-6
        let parameters = try c.decodeIfPresent(RopeSettings.self, forKey: .ropeParameters)
        let scaling = try c.decodeIfPresent(RopeSettings.self, forKey: .ropeScaling)
        ropeTheta = try parameters?.ropeTheta ?? c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? 10000
        if let parameters {
            ropeType = parameters.ropeType ?? parameters.type ?? "default"
            ropeScaling = parameters.scaling ?? scaling?.scaling
        } else if let scaling {
            ropeType = scaling.ropeType ?? scaling.type ?? "unspecified"
            ropeScaling = scaling.scaling
        } else {
            ropeType = "default"
            ropeScaling = nil
        }
        attentionBias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? false
        mlpBias = try c.decodeIfPresent(Bool.self, forKey: .mlpBias) ?? false
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "silu"
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
        useSlidingWindow = try c.decodeIfPresent(Bool.self, forKey: .useSlidingWindow) ?? false
        slidingWindow = try c.decodeIfPresent(Int.self, forKey: .slidingWindow)
        maxWindowLayers = try c.decodeIfPresent(Int.self, forKey: .maxWindowLayers) ?? 28
        layerTypes = try c.decodeIfPresent([String].self, forKey: .layerTypes)
        attentionDropout = try c.decodeIfPresent(Double.self, forKey: .attentionDropout) ?? 0
        initializerRange = try c.decodeIfPresent(Double.self, forKey: .initializerRange) ?? 0.02
        useCache = try c.decodeIfPresent(Bool.self, forKey: .useCache) ?? true
        bosTokenID = try c.decodeIfPresent(Int.self, forKey: .bosTokenID)
        eosTokenID = try c.decodeIfPresent(TokenIDs.self, forKey: .eosTokenID)
        padTokenID = try c.decodeIfPresent(Int.self, forKey: .padTokenID)
        dtype = try c.decodeIfPresent(String.self, forKey: .dtype) ?? c.decodeIfPresent(String.self, forKey: .torchDType)
        transformersVersion = try c.decodeIfPresent(String.self, forKey: .transformersVersion)
    }

    /// Writes every key transformers writes for the family. RoPE goes both as `rope_parameters`
    /// (5.x) and `rope_theta` plus `rope_scaling` (4.x), the dtype both as `dtype` and
    /// `torch_dtype`; a Qwen2 `head_dim` only when it differs from hidden / heads (4.x Qwen2
    /// derives it).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(modelType, forKey: .modelType)
        try c.encode(architectures, forKey: .architectures)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(numKeyValueHeads, forKey: .numKeyValueHeads)
        if family != .qwen2 || numAttentionHeads <= 0 || headDim != hiddenSize / numAttentionHeads {
            try c.encode(headDim, forKey: .headDim)
        }
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encode(rmsNormEps, forKey: .rmsNormEps)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encode(RopeSettings(ropeTheta: ropeTheta, ropeType: ropeType, scaling: ropeScaling), forKey: .ropeParameters)
        if let ropeScaling {
            try c.encode(RopeSettings(ropeTheta: nil, ropeType: ropeType, scaling: ropeScaling), forKey: .ropeScaling)
        }
        try c.encode(hiddenAct, forKey: .hiddenAct)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        if family == .llama {
            try c.encode(attentionBias, forKey: .attentionBias)
            try c.encode(mlpBias, forKey: .mlpBias)
            try c.encode(1, forKey: .pretrainingTP)
        } else {
            if family == .qwen3 { try c.encode(attentionBias, forKey: .attentionBias) }
            try c.encode(useSlidingWindow, forKey: .useSlidingWindow)
            try encodeOrNull(slidingWindow, .slidingWindow, &c)
            try c.encode(maxWindowLayers, forKey: .maxWindowLayers)
            try c.encode(layerTypes ?? Array(repeating: "full_attention", count: numHiddenLayers), forKey: .layerTypes)
        }
        try c.encode(attentionDropout, forKey: .attentionDropout)
        try c.encode(initializerRange, forKey: .initializerRange)
        try c.encode(useCache, forKey: .useCache)
        try encodeOrNull(bosTokenID, .bosTokenID, &c)
        try encodeOrNull(eosTokenID, .eosTokenID, &c)
        try encodeOrNull(padTokenID, .padTokenID, &c)
        try c.encodeIfPresent(dtype, forKey: .dtype)
        try c.encodeIfPresent(dtype, forKey: .torchDType)
        try c.encodeIfPresent(transformersVersion, forKey: .transformersVersion)
    }

    /// transformers writes unset optional ids and windows as `null` rather than leaving them out.
    private func encodeOrNull<T: Encodable>(_ value: T?, _ key: CodingKeys, _ c: inout KeyedEncodingContainer<CodingKeys>) throws {
        if let value { try c.encode(value, forKey: key) } else { try c.encodeNil(forKey: key) }
    }
}
