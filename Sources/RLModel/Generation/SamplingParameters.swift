/// How the next token is chosen from the logits.
public struct SamplingParameters: Sendable, Equatable {
    /// 0 means greedy (argmax).
    public var temperature: Float
    /// Nucleus sampling: keep the smallest set of top tokens whose probability reaches `topP`.
    public var topP: Float
    /// Keep only the `topK` most likely tokens (0 = no limit).
    public var topK: Int
    /// Drop tokens whose probability is below `minP` times the top token's.
    public var minP: Float
    /// CTRL-style penalty on tokens already in the prompt or completion (1 = none).
    public var repetitionPenalty: Float

    public init(temperature: Float = 1, topP: Float = 1, topK: Int = 0, minP: Float = 0, repetitionPenalty: Float = 1) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
    }

    /// Always the most likely token.
    public static let greedy = SamplingParameters(temperature: 0)

    public var isGreedy: Bool { temperature <= 0 }
}
