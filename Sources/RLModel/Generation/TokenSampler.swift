import CRLKernels
import RLTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Picks tokens from one row of logits. Each draw uses its own Philox block (key = the
/// sequence's seed, counter = the step), so a sequence's samples do not depend on which other
/// sequences share its batch.
///
/// Sampling never sorts the vocabulary: the tokens top-k and top-p keep are a prefix of the
/// tokens ordered by probability, found with a histogram over the probabilities' float bit
/// patterns, and only the tokens of the one histogram bin where the prefix ends are sorted.
public struct TokenSampler: Sendable {
    public let parameters: SamplingParameters

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
    }

    /// The chosen token and its log-probability under the unmodified model distribution
    /// (temperature 1, no truncation).
    public func sample(logits raw: UnsafeBufferPointer<Float>, history: [Int32], seed: UInt64, step: UInt64) -> (token: Int32, logProb: Float) {
        precondition(!raw.isEmpty, "TokenSampler: empty logits")
        let logNormaliser = TokenSampler.logSumExp(raw)
        let chosen: Int
        if parameters.repetitionPenalty != 1 {
            var logits = Array(raw)
            for token in Set(history) where Int(token) < raw.count {
                let v = logits[Int(token)]
                logits[Int(token)] = v > 0 ? v / parameters.repetitionPenalty : v * parameters.repetitionPenalty
            }
            chosen = logits.withUnsafeBufferPointer { pick(from: $0, seed: seed, step: step) }
        } else {
            chosen = pick(from: raw, seed: seed, step: step)
        }
        return (Int32(chosen), raw[chosen] - logNormaliser)
    }

    private func pick(from logits: UnsafeBufferPointer<Float>, seed: UInt64, step: UInt64) -> Int {
        parameters.isGreedy ? TokenSampler.argmax(logits) : draw(from: logits, seed: seed, step: step)
    }

    /// The first index of the largest value.
    static func argmax(_ x: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        var bestValue = x[0]
        for i in 1..<x.count where x[i] > bestValue {
            best = i
            bestValue = x[i]
        }
        return best
    }

    /// `log(sum(exp(x)))`, summed in double.
    static func logSumExp(_ x: UnsafeBufferPointer<Float>) -> Float {
        let maxValue = rl_max_f32(x.baseAddress, x.count)
        return maxValue + Float(log(rl_exp_shifted_f32(x.baseAddress, x.count, maxValue, 1, nil)))
    }

    /// Samples from softmax(logits / T) restricted by min-p, top-k and top-p.
    ///
    /// Probabilities are taken relative to the top token (top = 1). Tokens below `minP` are
    /// never drawn; top-k keeps the `topK` most likely of the rest; top-p keeps the shortest run
    /// of the most likely of those whose mass reaches `topP` of the total (the total over all
    /// tokens, or over the top-k when top-k cut). Ties are ordered by token id.
    private func draw(from logits: UnsafeBufferPointer<Float>, seed: UInt64, step: UInt64) -> Int {
        let top = rl_max_f32(logits.baseAddress, logits.count)
        var total: Double = 0
        let probabilities = [Float](unsafeUninitializedCapacity: logits.count) { buffer, initialized in
            total = rl_exp_shifted_f32(logits.baseAddress, logits.count, top, 1 / parameters.temperature, buffer.baseAddress)
            initialized = logits.count
        }
        return probabilities.withUnsafeBufferPointer { probs in
            let ranking = ProbabilityRanking(probabilities: probs, floor: Swift.max(parameters.minP, 0))
            var kept = RankCutoff.all
            var keptTotal = total
            var keptMass: Double?
            if parameters.topK > 0 {
                let (cut, mass, leavesOut) = ranking.shortestPrefix(within: kept) { count, _ in count >= parameters.topK }
                if leavesOut {
                    kept = cut
                    keptTotal = mass
                }
                keptMass = mass
            }
            if parameters.topP < 1 {
                let target = Double(parameters.topP) * keptTotal
                (kept, keptMass, _) = ranking.shortestPrefix(within: kept) { _, mass in mass >= target }
            }
            if keptMass == nil {
                keptMass = 0
                for i in probs.indices where ranking.isKept(i, kept) { keptMass! += Double(probs[i]) }
            }
            let (w0, w1, _, _) = Philox.block(counter: step, key: seed)
            let u = (Double(w0) * 4_294_967_296.0 + Double(w1)) / 18_446_744_073_709_551_616.0
            var target = u * keptMass!
            var last = 0
            for i in probs.indices where ranking.isKept(i, kept) {
                target -= Double(probs[i])
                if target < 0 { return i }
                last = i
            }
            return last
        }
    }
}

/// The last token of a prefix of the tokens ordered by probability (descending, ties by id).
struct RankCutoff: Equatable {
    var probability: Float
    var index: Int

    /// A cutoff past every token.
    static let all = RankCutoff(probability: -1, index: .max)
}

/// Orders the eligible tokens (probability at least `floor` and above 0; probabilities in
/// (0, 1]) by probability without sorting them: a positive float's bit pattern grows with its
/// value, so its high bits (exponent and 7 mantissa bits) give a histogram bin, and bins are
/// ranked by value.
struct ProbabilityRanking {
    let probabilities: UnsafeBufferPointer<Float>
    let floor: Float
    private static let one = Float(1).bitPattern

    init(probabilities: UnsafeBufferPointer<Float>, floor: Float) {
        self.probabilities = probabilities
        self.floor = floor
    }

    /// Bin of probability `p` in (0, 1]: 0 holds the largest values.
    @inline(__always) static func bin(_ p: Float) -> Int { Int((one &- p.bitPattern) >> 16) }

    static let binCount = bin(.leastNonzeroMagnitude) + 1

    @inline(__always) func isEligible(_ p: Float) -> Bool { p >= floor && p > 0 }

    /// Whether token `i` is eligible and ranks at or before `cutoff`.
    @inline(__always) func isKept(_ i: Int, _ cutoff: RankCutoff) -> Bool {
        let p = probabilities[i]
        return isEligible(p) && (p > cutoff.probability || (p == cutoff.probability && i <= cutoff.index))
    }

    /// The shortest prefix of the ranked tokens within `limit` after which `done(count, mass)`
    /// holds (`done` must stay true once true), its mass, and whether it leaves tokens of
    /// `limit` out; the whole of `limit` (and its mass) when `done` is never reached.
    func shortestPrefix(within limit: RankCutoff, done: (Int, Double) -> Bool) -> (cutoff: RankCutoff, mass: Double, leavesOut: Bool) {
        var counts = [Int32](repeating: 0, count: ProbabilityRanking.binCount)
        var masses = [Double](repeating: 0, count: ProbabilityRanking.binCount)
        for i in probabilities.indices where isKept(i, limit) {
            let p = probabilities[i]
            let b = ProbabilityRanking.bin(p)
            counts[b] += 1
            masses[b] += Double(p)
        }
        let eligibleCount = counts.reduce(0) { $0 + Int($1) }
        var count = 0
        var mass: Double = 0
        for b in 0..<ProbabilityRanking.binCount where counts[b] > 0 {
            guard done(count + Int(counts[b]), mass + masses[b]) else {
                count += Int(counts[b])
                mass += masses[b]
                continue
            }
            // The prefix ends inside bin b: rank its tokens.
            var members: [Int] = []
            members.reserveCapacity(Int(counts[b]))
            for i in probabilities.indices where isKept(i, limit) && ProbabilityRanking.bin(probabilities[i]) == b {
                members.append(i)
            }
            members.sort { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }
            for i in members {
                count += 1
                mass += Double(probabilities[i])
                if done(count, mass) { return (RankCutoff(probability: probabilities[i], index: i), mass, count < eligibleCount) }
            }
        }
        return (limit, mass, false)
    }
}
