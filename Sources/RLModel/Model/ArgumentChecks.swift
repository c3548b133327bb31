import RLTensor

// The checks of the model-level entry points (scoring, generation): bad input throws
// `LanguageModelError.invalidArgument` naming the argument and the allowed range, never traps.
extension CausalLanguageModel {
    /// `tokenLogProbs`' requirements (see `CausalLanguageModel.tokenLogProbs`).
    func checkScoring(inputIDs: Tensor, attentionMask: Tensor?, lastTokens: Int, temperature: Float, maxLogitBytes: Int) throws {
        func fail(_ argument: String, _ reason: String) -> LanguageModelError { .invalidArgument(argument, reason) }
        guard inputIDs.rank == 2, inputIDs.dtype == .i32 else {
            throw fail("inputIDs", "must be i32 [batch, length], got \(inputIDs.dtype) \(inputIDs.shape)")
        }
        let length = inputIDs.shape[1]
        guard inputIDs.shape[0] >= 1, length >= 2 else {
            throw fail("inputIDs", "needs at least one row of at least 2 tokens, got shape \(inputIDs.shape)")
        }
        if let attentionMask, attentionMask.shape != inputIDs.shape {
            throw fail("attentionMask", "must have the shape of inputIDs \(inputIDs.shape), got \(attentionMask.shape)")
        }
        guard lastTokens >= 1 && lastTokens < length else {
            throw fail("lastTokens", "must be between 1 and \(length - 1) (the sequence length \(length) less one), got \(lastTokens)")
        }
        guard temperature > 0 && temperature.isFinite else { throw fail("temperature", "must be a positive number, got \(temperature)") }
        guard maxLogitBytes > 0 else { throw fail("maxLogitBytes", "must be positive, got \(maxLogitBytes)") }
        try checkTokenIDs(inputIDs.toInt32Array(), argument: "inputIDs")
    }

    /// Every id in `0..<config.vocabSize`.
    func checkTokenIDs(_ ids: [Int32], argument: String) throws {
        let vocabulary = config.vocabSize
        if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocabulary }) {
            throw LanguageModelError.invalidArgument(argument, "token id \(bad) is outside the vocabulary (0..<\(vocabulary))")
        }
    }
}
