import RLTensor

extension DecoderModel {
    /// Runs `tokens` (`[cache.batch, count]` row-major, with their padding `mask`) through the
    /// model, appending to `cache`, and returns the logits of the last position of each row
    /// (`[batch, vocab]`). Records nothing for autograd. Throws `LanguageModelError.invalidArgument`
    /// unless `tokens` fill whole rows, their ids are in the vocabulary, `mask` has one entry per
    /// token, the cache has room for them, and the model's matrices are bf16 when the cache's
    /// `activationType` is (the activations then stay bf16, computed in f32; logits are f32).
    public func forward(tokens: [Int32], mask: [Int32]? = nil, cache: KVCache) throws -> Tensor {
        try checkForward(tokens: tokens, mask: mask, cache: cache)
        return withoutGradients {
            let batch = cache.batch
            let count = tokens.count / batch
            let device = self.device
            let realMask = mask ?? [Int32](repeating: 1, count: tokens.count)
            let positions = RotaryPositions(cache.beginStep(count: count, newMask: realMask), batch: batch, length: count,
                                            config: config, device: device)
            let ids = Tensor(tokens, shape: [batch, count], device: device)
            var x = weight("model.embed_tokens.weight").embedding(ids, as: cache.activationType)
            for layer in 0..<config.numHiddenLayers {
                x = decoderLayer(layer, x, positions: positions, keyMask: nil, cache: cache)
            }
            cache.commitStep()
            let last = x.sliced(axis: 1, (count - 1)..<count).reshaped([batch, config.hiddenSize])
            return logits(hiddenStates: last.rmsNorm(weight: weight("model.norm.weight"), eps: Float(config.rmsNormEps)).cast(to: .f32))
        }
    }

    /// A copy for fast inference whose matrices (projections, embedding, LM head) are stored
    /// as `dtype` (bf16 halves the bytes each decode step reads); norms and biases stay f32.
    public func inferenceCopy(matrices dtype: DType) -> DecoderModel {
        let converted = withoutGradients {
            // Vectors are copied too: the copy must not change when the original is trained.
            parameters.mapValues { t in t.rank == 2 ? t.cast(to: dtype) : t.copied() }
        }
        let model = DecoderModel(checked: config, parameters: converted)
        model.adapters = adapters
        return model
    }
}
