import RLTensor

extension DecoderModel {
    /// Runs one token per sequence (`tokens[i]` continues sequence `sequences[i]` of `pagedCache`)
    /// through the model, appending them to the cache, and returns their logits
    /// (`[sequences.count, vocab]`). Records nothing for autograd. Throws
    /// `LanguageModelError.invalidArgument` unless there is one token per sequence (at least one),
    /// the ids are in the vocabulary, the sequences are distinct live sequences of the cache, its
    /// free blocks suffice and the model's matrices are bf16 when the cache's `activationType` is
    /// (the cache is unchanged then). Activations are of the cache's type; logits are f32.
    public func forward(tokens: [Int32], pagedCache cache: PagedKVCache, sequences: [Int]) throws -> Tensor {
        guard !tokens.isEmpty, tokens.count == sequences.count else {
            throw LanguageModelError.invalidArgument("tokens", "must hold one token per sequence (\(sequences.count)), at least one; got \(tokens.count)")
        }
        try checkTokenIDs(tokens, argument: "tokens")
        try checkActivationType(cache.activationType, argument: "pagedCache")
        let positions = try cache.beginStep(sequences: sequences)
        return withoutGradients {
            let batch = tokens.count
            let rotary = RotaryPositions(positions, batch: batch, length: 1, config: config, device: device)
            var x = weight("model.embed_tokens.weight").embedding(Tensor(tokens, shape: [batch, 1], device: device), as: cache.activationType)
            for layer in 0..<config.numHiddenLayers {
                x = decoderLayer(layer, x, positions: rotary, keyMask: nil, pagedCache: cache)
            }
            cache.commitStep()
            let final = x.reshaped([batch, config.hiddenSize]).rmsNorm(weight: weight("model.norm.weight"), eps: Float(config.rmsNormEps))
            return logits(hiddenStates: final.cast(to: .f32))
        }
    }
}
