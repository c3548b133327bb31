import FoundationEssentials

/// One sample completion of a training step: what `GRPOTrainer.onStep` reports, what a line of
/// `completions.jsonl` holds and what a report shows.
public struct CompletionSample: Codable, Sendable, Equatable {
    public var step: Int
    public var prompt: String
    public var completion: String
    /// The weighted sum of the reward functions.
    public var reward: Float

    public init(step: Int, prompt: String, completion: String, reward: Float) {
        self.step = step
        self.prompt = prompt
        self.completion = completion
        self.reward = reward
    }

    /// The samples of a `completions.jsonl` file, in order (none if it is missing; a torn last
    /// line is skipped).
    public static func read(_ url: URL) -> [CompletionSample] {
        guard let data = try? Data(contentsOf: url) else { return [] }
        return data.split(separator: UInt8(ascii: "\n")).compactMap { try? JSONDecoder().decode(CompletionSample.self, from: Data($0)) }
    }
}
