extension Qwen2Config {
    /// Name and shape of every tensor a transformers `Qwen2ForCausalLM` checkpoint with this
    /// config holds (`lm_head.weight` only when embeddings are not tied).
    /// Compare a checkpoint against it with `WeightNameReport`.
    public var checkpointTensorShapes: [String: [Int]] {
        let queryWidth = numAttentionHeads * headDim
        let keyValueWidth = numKeyValueHeads * headDim
        var shapes = [
            "model.embed_tokens.weight": [vocabSize, hiddenSize],
            "model.norm.weight": [hiddenSize],
        ]
        if !tieWordEmbeddings { shapes["lm_head.weight"] = [vocabSize, hiddenSize] }
        for layer in 0 ..< numHiddenLayers {
            let prefix = "model.layers.\(layer)."
            shapes[prefix + "self_attn.q_proj.weight"] = [queryWidth, hiddenSize]
            shapes[prefix + "self_attn.q_proj.bias"] = [queryWidth]
            shapes[prefix + "self_attn.k_proj.weight"] = [keyValueWidth, hiddenSize]
            shapes[prefix + "self_attn.k_proj.bias"] = [keyValueWidth]
            shapes[prefix + "self_attn.v_proj.weight"] = [keyValueWidth, hiddenSize]
            shapes[prefix + "self_attn.v_proj.bias"] = [keyValueWidth]
            shapes[prefix + "self_attn.o_proj.weight"] = [hiddenSize, queryWidth]
            shapes[prefix + "mlp.gate_proj.weight"] = [intermediateSize, hiddenSize]
            shapes[prefix + "mlp.up_proj.weight"] = [intermediateSize, hiddenSize]
            shapes[prefix + "mlp.down_proj.weight"] = [hiddenSize, intermediateSize]
            shapes[prefix + "input_layernorm.weight"] = [hiddenSize]
            shapes[prefix + "post_attention_layernorm.weight"] = [hiddenSize]
        }
        return shapes
    }
}
