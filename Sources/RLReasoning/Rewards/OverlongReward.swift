/// DAPO's soft overlong punishment (`overlong` in `reward_funcs`): 0 for completions of at most
/// `maxLength - bufferLength` tokens, then falling linearly to `-penaltyFactor` at `maxLength`
/// tokens (and `-penaltyFactor` beyond):
/// `min(0, (maxLength - bufferLength - tokens) / bufferLength) * penaltyFactor`.
public struct OverlongReward: PerCompletionReward {
    public let name = "overlong"
    /// `max_completion_length`, in tokens.
    public var maxLength: Int
    /// `overlong_buffer_len`, in tokens (≥ 1).
    public var bufferLength: Int
    /// `overlong_penalty_factor` (≥ 0).
    public var penaltyFactor: Float

    public init(maxLength: Int, bufferLength: Int, penaltyFactor: Float = 1) {
        self.maxLength = maxLength
        self.bufferLength = bufferLength
        self.penaltyFactor = penaltyFactor
    }

    public func score(completion: String, tokenCount: Int, row: [String: String]) -> Float? {
        let buffer = max(bufferLength, 1)
        let excess = tokenCount - (maxLength - buffer)
        guard excess > 0 else { return 0 }
        return -Float(min(excess, buffer)) / Float(buffer) * penaltyFactor
    }
}
