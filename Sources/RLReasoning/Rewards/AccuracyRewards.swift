import Dispatch
import RLMath
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What to do with a gold answer RLMath cannot parse.
public enum UnparseableGoldPolicy: String, Sendable, Codable, CaseIterable {
    /// No score (the completion is left out of this reward); counted in the metrics.
    case noScore = "no_score"
    /// Score 1.0 like the reference (the whole group then gets zero advantage).
    case reference
}

/// Where a dataset row's gold answer is read from: the first present, non-empty column.
public struct GoldColumns: Sendable, Equatable {
    public var names: [String]
    public init(_ names: [String] = ["solution", "answer"]) { self.names = names }
    func gold(in row: [String: String]) -> String? {
        names.lazy.compactMap { row[$0] }.first { $0.contains { !$0.isWhitespace } }
    }
}

/// Correctness of each completion of a batch, checked by RLMath in reward mode, in parallel.
/// nil marks a completion whose gold answer is missing or unparseable.
func correctness(_ batch: RewardBatch, columns: GoldColumns, verifier: MathVerifier) -> [Bool?] {
    let results = ResultSlots<Bool?>(count: batch.count, initial: nil)
    DispatchQueue.concurrentPerform(iterations: batch.count) { i in
        guard let gold = columns.gold(in: batch.rows[i]) else { return }
        let verdict = verifier.verify(gold: gold, completion: batch.completions[i], mode: .reward)
        results.set(i, verdict.reason == .goldUnparseable ? nil : verdict.isCorrect)
    }
    return results.values
}

/// Open-RS `accuracy_reward`: 1 when the completion's anchored final answer (a box, an answer
/// tag or phrase) equals the gold answer, else 0.
public struct AccuracyReward: RewardFunction {
    public let name = "accuracy"
    public var goldColumns: GoldColumns
    public var unparseableGold: UnparseableGoldPolicy
    public var verifier: MathVerifier

    public init(goldColumns: GoldColumns = GoldColumns(), unparseableGold: UnparseableGoldPolicy = .noScore,
                verifier: MathVerifier = MathVerifier()) {
        self.goldColumns = goldColumns
        self.unparseableGold = unparseableGold
        self.verifier = verifier
    }

    public func scores(_ batch: RewardBatch) -> [Float?] {
        correctness(batch, columns: goldColumns, verifier: verifier).map { verdict in
            guard let verdict else { return unparseableGold == .reference ? 1 : nil }
            return verdict ? 1 : 0
        }
    }
}

/// Open-RS `cosine_scaled_reward`: a correct answer earns between `maxValueCorrect` (length 0) and
/// `minValueCorrect` (length `maxLength`), a wrong one between `minValueWrong` and
/// `maxValueWrong`, along half a cosine.
///
/// `.faithful` reproduces the reference exactly: lengths in characters and an unclamped
/// progress, so past `maxLength` the reward climbs back (period 2 x maxLength), and an
/// unparseable gold scores 1. `.fixed` measures tokens and clamps progress at 1.
public struct CosineReward: RewardFunction {
    public enum Variant: String, Sendable, Codable, CaseIterable { case faithful, fixed }
    public let name = "cosine"
    public var variant: Variant
    public var minValueWrong: Float = 0
    public var maxValueWrong: Float = -0.5
    public var minValueCorrect: Float = 0.5
    public var maxValueCorrect: Float = 1
    public var maxLength: Int = 1000
    public var goldColumns = GoldColumns()
    public var verifier = MathVerifier()

    public init(variant: Variant = .faithful, maxLength: Int = 1000, minValueWrong: Float = 0, maxValueWrong: Float = -0.5,
                minValueCorrect: Float = 0.5, maxValueCorrect: Float = 1) {
        self.variant = variant
        self.maxLength = maxLength
        self.minValueWrong = minValueWrong
        self.maxValueWrong = maxValueWrong
        self.minValueCorrect = minValueCorrect
        self.maxValueCorrect = maxValueCorrect
    }

    public func scores(_ batch: RewardBatch) -> [Float?] {
        let verdicts = correctness(batch, columns: goldColumns, verifier: verifier)
        return batch.completions.indices.map { i in
            guard let correct = verdicts[i] else { return variant == .faithful ? 1 : nil }
            let length = variant == .faithful ? batch.completions[i].unicodeScalars.count : batch.tokenCounts[i]
            var progress = Double(length) / Double(maxLength)
            if variant == .fixed { progress = Swift.min(progress, 1) }
            let c = cos(Double.pi * progress)
            let (low, high) = correct ? (minValueCorrect, maxValueCorrect) : (maxValueWrong, minValueWrong)
            return Float(Double(low) + 0.5 * Double(high - low) * (1 + c))
        }
    }
}

/// Kimi 1.5 length reward (open-r1 `len_reward`): with character lengths L in the batch,
/// `λ = 0.5 - (L - min) / (max - min)`; correct answers get λ, wrong ones `min(0, λ)`; all 0
/// when every length is equal. A completion whose gold cannot be parsed counts as correct.
public struct LengthReward: RewardFunction {
    public let name = "length"
    public var goldColumns = GoldColumns()
    public var verifier = MathVerifier()

    public init() {}

    public func scores(_ batch: RewardBatch) -> [Float?] {
        let verdicts = correctness(batch, columns: goldColumns, verifier: verifier)
        let lengths = batch.completions.map { $0.unicodeScalars.count }
        guard let shortest = lengths.min(), let longest = lengths.max(), longest > shortest else {
            return lengths.map { _ in 0 }
        }
        return lengths.indices.map { i in
            let lambda = 0.5 - Float(lengths[i] - shortest) / Float(longest - shortest)
            return (verdicts[i] ?? true) ? lambda : Swift.min(0, lambda)
        }
    }
}
