import RLTensor

// The checks of the model-level entry points (scoring, generation): bad input throws
// `LanguageModelError.invalidArgument` naming the argument and the allowed range, never traps.
extension CausalLanguageModel {
    /// `hiddenStates`' requirements: i32 ids `[batch ≥ 1, length ≥ 1]` in the vocabulary, a mask of their shape.
    func checkInput(inputIDs: Tensor, attentionMask: Tensor?) throws {
        func fail(_ argument: String, _ reason: String) -> LanguageModelError { .invalidArgument(argument, reason) }
        guard inputIDs.rank == 2, inputIDs.dtype == .i32 else {
            throw fail("inputIDs", "must be i32 [batch, length], got \(inputIDs.dtype) \(inputIDs.shape)")
        }
        guard inputIDs.shape[0] >= 1, inputIDs.shape[1] >= 1 else { throw fail("inputIDs", "is empty (shape \(inputIDs.shape))") }
        if let attentionMask, attentionMask.shape != inputIDs.shape {
            throw fail("attentionMask", "must have the shape of inputIDs \(inputIDs.shape), got \(attentionMask.shape)")
        }
        try checkTokenIDs(inputIDs.toInt32Array(), argument: "inputIDs")
    }

    /// `tokenLogProbs`' requirements (see `CausalLanguageModel.tokenLogProbs`).
    func checkScoring(inputIDs: Tensor, attentionMask: Tensor?, lastTokens: Int, temperature: Float, maxLogitBytes: Int) throws {
        func fail(_ argument: String, _ reason: String) -> LanguageModelError { .invalidArgument(argument, reason) }
        try checkInput(inputIDs: inputIDs, attentionMask: attentionMask)
        let length = inputIDs.shape[1]
        guard lastTokens >= 1 && lastTokens < length else {
            throw fail("lastTokens", "must be between 1 and \(length - 1) (the sequence length \(length) less one), got \(lastTokens)")
        }
        guard temperature > 0 && temperature.isFinite else { throw fail("temperature", "must be a positive number, got \(temperature)") }
        guard maxLogitBytes > 0 else { throw fail("maxLogitBytes", "must be positive, got \(maxLogitBytes)") }
    }

    /// `forward(tokens:mask:cache:)`'s requirements.
    func checkForward(tokens: [Int32], mask: [Int32]?, cache: KVCache) throws {
        func fail(_ argument: String, _ reason: String) -> LanguageModelError { .invalidArgument(argument, reason) }
        let batch = cache.batch
        guard batch > 0, !tokens.isEmpty, tokens.count % batch == 0 else {
            throw fail("tokens", "must fill the cache's \(batch) rows with at least one token each, got \(tokens.count) tokens")
        }
        if let mask, mask.count != tokens.count { throw fail("mask", "must have one entry per token (\(tokens.count)), got \(mask.count)") }
        let count = tokens.count / batch
        guard count <= cache.remaining else {
            throw fail("cache", "has room for \(cache.remaining) more tokens per row, \(count) given (capacity \(cache.capacity))")
        }
        try checkTokenIDs(tokens, argument: "tokens")
        try checkActivationType(cache.activationType, argument: "cache")
    }

    /// That forward passes can keep their activations as `dtype`: f32, or bf16 when every matrix
    /// of the model is bf16 (`inferenceCopy(matrices: .bf16)`); throws
    /// `LanguageModelError.invalidArgument` naming `argument` otherwise.
    func checkActivationType(_ dtype: DType, argument: String) throws {
        guard dtype == .f32 || dtype == .bf16 else {
            throw LanguageModelError.invalidArgument(argument, "activations must be f32 or bf16, got \(dtype)")
        }
        if dtype == .bf16, let name = parameters.first(where: { $0.value.rank == 2 && $0.value.dtype != .bf16 })?.key {
            throw LanguageModelError.invalidArgument(argument, "bf16 activations need bf16 matrices (inferenceCopy(matrices: .bf16)); \(name) is \(parameters[name]!.dtype)")
        }
    }

    /// Every id in `0..<config.vocabSize`.
    func checkTokenIDs(_ ids: [Int32], argument: String) throws {
        let vocabulary = config.vocabSize
        if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocabulary }) {
            throw LanguageModelError.invalidArgument(argument, "token id \(bad) is outside the vocabulary (0..<\(vocabulary))")
        }
    }
}
