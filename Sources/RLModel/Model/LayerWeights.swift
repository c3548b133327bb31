/// What sets one family's decoder layer apart from another's.
struct LayerLayout: Equatable, Sendable {
    /// Biases on the q, k and v projections.
    var queryKeyValueBias: Bool
    /// A bias on the attention output projection.
    var outputBias: Bool
    /// Biases on the gate, up and down projections.
    var mlpBias: Bool
    /// RMSNorm (weight `[headDim]`) of every query and key head before RoPE.
    var queryKeyNorm: Bool

    init(_ config: ModelConfig) {
        switch config.family {
        case .qwen2, nil:
            self.init(queryKeyValueBias: true, outputBias: false, mlpBias: false, queryKeyNorm: false)
        case .qwen3:
            self.init(queryKeyValueBias: config.attentionBias, outputBias: config.attentionBias, mlpBias: false, queryKeyNorm: true)
        case .llama:
            self.init(queryKeyValueBias: config.attentionBias, outputBias: config.attentionBias, mlpBias: config.mlpBias,
                      queryKeyNorm: false)
        }
    }

    init(queryKeyValueBias: Bool, outputBias: Bool, mlpBias: Bool, queryKeyNorm: Bool) {
        self.queryKeyValueBias = queryKeyValueBias
        self.outputBias = outputBias
        self.mlpBias = mlpBias
        self.queryKeyNorm = queryKeyNorm
    }
}

/// The Hugging Face names of one decoder layer's tensors (`model.layers.<i>.…`), for every
/// family; absent tensors are nil. The only place layer weight names are spelled.
struct LayerWeights: Sendable {
    let inputNorm, query, key, value, output, postAttentionNorm, gate, up, down: String
    let queryBias, keyBias, valueBias, outputBias: String?
    let gateBias, upBias, downBias: String?
    let queryNorm, keyNorm: String?

    init(layer: Int, layout: LayerLayout) {
        let p = "model.layers.\(layer)."
        func bias(_ projection: String, _ present: Bool) -> String? { present ? p + projection + ".bias" : nil }
        inputNorm = p + "input_layernorm.weight"
        query = p + "self_attn.q_proj.weight"
        key = p + "self_attn.k_proj.weight"
        value = p + "self_attn.v_proj.weight"
        output = p + "self_attn.o_proj.weight"
        postAttentionNorm = p + "post_attention_layernorm.weight"
        gate = p + "mlp.gate_proj.weight"
        up = p + "mlp.up_proj.weight"
        down = p + "mlp.down_proj.weight"
        queryBias = bias("self_attn.q_proj", layout.queryKeyValueBias)
        keyBias = bias("self_attn.k_proj", layout.queryKeyValueBias)
        valueBias = bias("self_attn.v_proj", layout.queryKeyValueBias)
        outputBias = bias("self_attn.o_proj", layout.outputBias)
        gateBias = bias("mlp.gate_proj", layout.mlpBias)
        upBias = bias("mlp.up_proj", layout.mlpBias)
        downBias = bias("mlp.down_proj", layout.mlpBias)
        queryNorm = layout.queryKeyNorm ? p + "self_attn.q_norm.weight" : nil
        keyNorm = layout.queryKeyNorm ? p + "self_attn.k_norm.weight" : nil
    }

    /// Every tensor of the layer with its shape.
    func shapes(_ c: ModelConfig) -> [(name: String, shape: [Int])] {
        let queryWidth = c.numAttentionHeads * c.headDim, keyValueWidth = c.numKeyValueHeads * c.headDim
        let all: [(String?, [Int])] = [
            (inputNorm, [c.hiddenSize]), (postAttentionNorm, [c.hiddenSize]),
            (query, [queryWidth, c.hiddenSize]), (queryBias, [queryWidth]),
            (key, [keyValueWidth, c.hiddenSize]), (keyBias, [keyValueWidth]),
            (value, [keyValueWidth, c.hiddenSize]), (valueBias, [keyValueWidth]),
            (output, [c.hiddenSize, queryWidth]), (outputBias, [c.hiddenSize]),
            (queryNorm, [c.headDim]), (keyNorm, [c.headDim]),
            (gate, [c.intermediateSize, c.hiddenSize]), (gateBias, [c.intermediateSize]),
            (up, [c.intermediateSize, c.hiddenSize]), (upBias, [c.intermediateSize]),
            (down, [c.hiddenSize, c.intermediateSize]), (downBias, [c.hiddenSize]),
        ]
        return all.compactMap { name, shape in name.map { ($0, shape) } }
    }
}

extension ModelConfig {
    /// The names of each decoder layer's tensors.
    var layerWeights: [LayerWeights] {
        let layout = LayerLayout(self)
        return (0..<numHiddenLayers).map { LayerWeights(layer: $0, layout: layout) }
    }

    /// Name and shape of every tensor a transformers checkpoint of this family and config holds
    /// (`lm_head.weight` only when embeddings are not tied). Compare a checkpoint against it with
    /// `WeightNameReport`.
    public var checkpointTensorShapes: [String: [Int]] {
        var shapes = [
            "model.embed_tokens.weight": [vocabSize, hiddenSize],
            "model.norm.weight": [hiddenSize],
        ]
        if !tieWordEmbeddings { shapes["lm_head.weight"] = [vocabSize, hiddenSize] }
        for layer in layerWeights {
            for (name, shape) in layer.shapes(self) { shapes[name] = shape }
        }
        return shapes
    }
}
