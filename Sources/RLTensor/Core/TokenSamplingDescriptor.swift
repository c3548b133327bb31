/// One step of token sampling over `rows` rows of `vocab` logits, for
/// `ComputeBackend.sampleTokens`: the fields of RLModel's `SamplingParameters` and the step.
///
/// Row `r` draws with the Philox block at counter `step` under key `seeds[r]` (one block per
/// draw), so a row's token does not depend on the other rows.
public struct TokenSamplingDescriptor: Sendable, Equatable {
    /// Rows of logits (sequences), ≥ 1.
    public var rows: Int
    /// Logits per row, ≥ 1.
    public var vocab: Int
    /// Softmax temperature; ≤ 0 takes the argmax.
    public var temperature: Float
    /// Keep the `topK` most likely tokens (0 = no limit).
    public var topK: Int
    /// Keep the shortest prefix of the ranked tokens whose probability reaches `topP` (1 = all).
    public var topP: Float
    /// Drop tokens whose probability is below `minP` times the top token's (0 = none).
    public var minP: Float
    /// CTRL-style penalty on the tokens of each row's history (1 = none).
    public var repetitionPenalty: Float
    /// The Philox counter of this draw (the generation step).
    public var step: UInt64

    public init(rows: Int, vocab: Int, temperature: Float, topK: Int, topP: Float, minP: Float, repetitionPenalty: Float, step: UInt64) {
        self.rows = rows; self.vocab = vocab; self.temperature = temperature; self.topK = topK
        self.topP = topP; self.minP = minP; self.repetitionPenalty = repetitionPenalty; self.step = step
    }
}
