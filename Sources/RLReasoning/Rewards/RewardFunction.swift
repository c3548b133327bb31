import Dispatch

/// The completions of one batch and what reward functions may read about them.
public struct RewardBatch: Sendable {
    /// Completion texts (special tokens skipped), one per completion.
    public var completions: [String]
    /// Completion lengths in tokens.
    public var tokenCounts: [Int]
    /// The dataset row each completion answers (e.g. `solution`, `answer`).
    public var rows: [[String: String]]

    /// One token count and one row per completion, else throws `TrainingError.invalidArgument`.
    public init(completions: [String], tokenCounts: [Int], rows: [[String: String]]) throws {
        guard completions.count == tokenCounts.count && completions.count == rows.count else {
            throw TrainingError.invalidArgument(name: "tokenCounts", reason: "\(completions.count) completions need as many token counts "
                + "and rows, got \(tokenCounts.count) and \(rows.count)")
        }
        self.completions = completions
        self.tokenCounts = tokenCounts
        self.rows = rows
    }

    public var count: Int { completions.count }
}

/// Scores completions. Return nil for a completion the function has no opinion on ("no
/// score"): it is left out of that function's weighted contribution and its logged mean.
public protocol RewardFunction: Sendable {
    /// The name used in recipes (`reward_funcs`) and metrics (`rewards/<name>`).
    var name: String { get }
    /// The reward's weight in the sum when it is given to `GRPOTrainer(rewards:)` (default 1).
    /// Built-in rewards named in `rewardFuncs` are weighted by `rewardWeights` instead.
    var weight: Float { get }
    func scores(_ batch: RewardBatch) -> [Float?]
}

extension RewardFunction {
    public var weight: Float { 1 }
}

/// A reward computed independently per completion; scoring runs in parallel.
public protocol PerCompletionReward: RewardFunction {
    func score(completion: String, tokenCount: Int, row: [String: String]) -> Float?
}

extension PerCompletionReward {
    public func scores(_ batch: RewardBatch) -> [Float?] {
        let results = ResultSlots<Float?>(count: batch.count, initial: nil)
        DispatchQueue.concurrentPerform(iterations: batch.count) { i in
            results.set(i, score(completion: batch.completions[i], tokenCount: batch.tokenCounts[i], row: batch.rows[i]))
        }
        return results.values
    }
}

/// Fixed slots written by parallel iterations, each to its own index.
final class ResultSlots<T>: @unchecked Sendable {
    private var storage: [T]
    init(count: Int, initial: T) { storage = Array(repeating: initial, count: count) }
    func set(_ index: Int, _ value: T) { storage.withUnsafeMutableBufferPointer { $0[index] = value } }
    var values: [T] { storage }
}

/// Number of non-overlapping occurrences of `needle` in `text`.
func occurrences(of needle: String, in text: String) -> Int {
    let n = Array(needle.utf8), h = Array(text.utf8)
    guard !n.isEmpty, h.count >= n.count else { return 0 }
    var count = 0, i = 0
    while i <= h.count - n.count {
        if h[i] == n[0] && h[i..<(i + n.count)].elementsEqual(n) { count += 1; i += n.count } else { i += 1 }
    }
    return count
}
