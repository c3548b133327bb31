import RLTensor

extension DecoderModel {
    /// Runs one token per sequence (`tokens[i]` continues sequence `sequences[i]` of `pagedCache`)
    /// through the model, appending them to the cache, and returns their logits
    /// (`[sequences.count, vocab]`). Records nothing for autograd. Throws
    /// `LanguageModelError.invalidArgument` unless there is one token per sequence (at least one),
    /// the ids are in the vocabulary, the sequences are distinct live sequences of the cache,
    /// its free blocks suffice and the model's matrices are bf16 when the cache's `activationType`
    /// is (the cache is unchanged then). Activations are of the cache's type; logits are f32.
    public func forward(tokens: [Int32], pagedCache cache: PagedKVCache, sequences: [Int]) throws -> Tensor {
        try checkPagedStep(tokens: tokens, sequences: sequences, cache: cache)
        let values = try cache.beginStep(sequences: sequences)
        let logits = pagedStepLogits(PagedStepTensors(tokens: tokens, values: values, config: config, device: device), cache: cache)
        cache.commitStep()
        return logits
    }

    /// `forward(tokens:pagedCache:sequences:)` through `graph`: the step's inputs are written into
    /// tensors `graph` keeps for the batch shape, and the step recorded for that shape is
    /// replayed (recorded first when the shape is new). The logits are the same as the eager
    /// forward's; on a backend that records work they are rewritten by the next step. Same errors.
    public func forward(tokens: [Int32], pagedCache cache: PagedKVCache, sequences: [Int], graph: PagedDecodeGraph) throws -> Tensor {
        try checkPagedStep(tokens: tokens, sequences: sequences, cache: cache)
        let values = try cache.beginStep(sequences: sequences, tableWidth: graph.minimumTableWidth)
        let key = PagedDecodeGraph.Key(model: ObjectIdentifier(self), cache: ObjectIdentifier(cache), batch: tokens.count,
                                       tableWidth: values.tableWidth)
        let (inputs, step) = graph.step(for: key) {
            let inputs = PagedStepTensors(staged: tokens.count, tableWidth: values.tableWidth, blockSize: cache.blockSize,
                                          config: config, device: device)
            return (inputs, ReplayableStep(device: device) { [self] in [pagedStepLogits(inputs, cache: cache)] })
        }
        inputs.overwrite(tokens: tokens, values: values)
        defer { cache.commitStep() }  // as in the eager step, a device error leaves the cache advanced
        return try step.run()[0]
    }

    private func checkPagedStep(tokens: [Int32], sequences: [Int], cache: PagedKVCache) throws {
        guard !tokens.isEmpty, tokens.count == sequences.count else {
            throw LanguageModelError.invalidArgument("tokens", "must hold one token per sequence (\(sequences.count)), at least one; got \(tokens.count)")
        }
        try checkTokenIDs(tokens, argument: "tokens")
        try checkActivationType(cache.activationType, argument: "pagedCache")
    }

    /// The logits of a paged decode step whose inputs are `step`; reads nothing else that
    /// changes between steps, so it can be recorded and replayed.
    private func pagedStepLogits(_ step: PagedStepTensors, cache: PagedKVCache) -> Tensor {
        withoutGradients {
            let batch = step.ids.shape[0]
            var x = weight("model.embed_tokens.weight").embedding(step.ids, as: cache.activationType)
            for layer in 0..<config.numHiddenLayers {
                x = decoderLayer(layer, x, positions: step.rotary, keyMask: nil, paged: (cache, step))
            }
            let final = x.reshaped([batch, config.hiddenSize]).rmsNorm(weight: weight("model.norm.weight"), eps: Float(config.rmsNormEps))
            return logits(hiddenStates: final.cast(to: .f32))
        }
    }
}
