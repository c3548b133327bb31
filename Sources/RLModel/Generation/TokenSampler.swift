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

    /// One token per row of `logits` (`rows x vocab` values, `rows = seeds.count`), the rows
    /// sampled in parallel on the CPU backend's worker threads; row `r` uses `histories[r]` and
    /// `seeds[r]`.
    public func sample(rows logits: UnsafeBufferPointer<Float>, vocab: Int, histories: [[Int32]], seeds: [UInt64],
                       step: UInt64) -> [(token: Int32, logProb: Float)] {
        let rows = seeds.count
        precondition(logits.count == rows * vocab && histories.count == rows,
                     "TokenSampler: \(logits.count) logits, \(histories.count) histories and \(rows) seeds do not make rows of \(vocab)")
        return [(token: Int32, logProb: Float)](unsafeUninitializedCapacity: rows) { picks, initialized in
            Parallel.ranges(rows, grain: 1) { first, end in
                for row in first..<end {
                    let rowLogits = UnsafeBufferPointer(rebasing: logits[row * vocab..<(row + 1) * vocab])
                    (picks.baseAddress! + row).initialize(to: sample(logits: rowLogits, history: histories[row], seed: seeds[row], step: step))
                }
            }
            initialized = rows
        }
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
/// (0, 1]) by probability without sorting them all. A positive float's bit pattern grows with its
/// value, so `1.0.bitPattern - p.bitPattern` is a key that grows as `p` shrinks: its high bits
/// give a histogram bin (bins are ranked like the values), the next 8 bits refine the one bin
/// where a prefix ends, and only the few tokens that share all those bits are sorted.
struct ProbabilityRanking {
    let probabilities: UnsafeBufferPointer<Float>
    let floor: Float
    private static let one = Float(1).bitPattern

    init(probabilities: UnsafeBufferPointer<Float>, floor: Float) {
        self.probabilities = probabilities
        self.floor = floor
    }

    /// The ranking key of probability `p` in (0, 1]: 0 for the largest values.
    @inline(__always) static func key(_ p: Float) -> UInt32 { one &- p.bitPattern }

    /// Bins of the first level (keys shifted right by 16).
    static let coarseBinCount = Int(key(.leastNonzeroMagnitude) >> 16) + 1

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
        var counts = [Int32](repeating: 0, count: ProbabilityRanking.coarseBinCount)
        var masses = [Double](repeating: 0, count: ProbabilityRanking.coarseBinCount)
        var eligibleCount = 0
        for i in probabilities.indices where isKept(i, limit) {
            let p = probabilities[i]
            let bin = Int(ProbabilityRanking.key(p) >> 16)
            counts[bin] += 1
            masses[bin] += Double(p)
            eligibleCount += 1
        }
        var count = 0
        var mass: Double = 0
        guard let coarse = boundary(counts, masses, &count, &mass, done) else { return (limit, mass, false) }
        let coarseMembers = probabilities.indices.filter {
            isKept($0, limit) && Int(ProbabilityRanking.key(probabilities[$0]) >> 16) == coarse
        }
        // Refine the coarse bin by the key's next 8 bits. Rounding of the bins' mass sums can leave
        // `done` just short inside the bin; the prefix then ends at the bin's last token.
        counts = [Int32](repeating: 0, count: 256)
        masses = [Double](repeating: 0, count: 256)
        for i in coarseMembers {
            let bin = Int((ProbabilityRanking.key(probabilities[i]) >> 8) & 0xFF)
            counts[bin] += 1
            masses[bin] += Double(probabilities[i])
        }
        let fine: Int
        if let found = boundary(counts, masses, &count, &mass, done) {
            fine = found
        } else {
            // `boundary` passed every sub-bin: step back over the last one.
            fine = counts.lastIndex { $0 > 0 }!
            count -= Int(counts[fine])
            mass -= masses[fine]
        }
        var members = coarseMembers.filter { Int((ProbabilityRanking.key(probabilities[$0]) >> 8) & 0xFF) == fine }
        members.sort { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }
        for (position, i) in members.enumerated() {
            count += 1
            mass += Double(probabilities[i])
            if done(count, mass) || position == members.count - 1 {
                return (RankCutoff(probability: probabilities[i], index: i), mass, count < eligibleCount)
            }
        }
        preconditionFailure("ProbabilityRanking: empty boundary bin")
    }

    /// The first bin (in rank order) whose tokens make `done` true, with `count` and `mass`
    /// advanced past the bins before it; nil (and the totals) when no bin does.
    private func boundary(_ counts: [Int32], _ masses: [Double], _ count: inout Int, _ mass: inout Double,
                          _ done: (Int, Double) -> Bool) -> Int? {
        for bin in counts.indices where counts[bin] > 0 {
            if done(count + Int(counts[bin]), mass + masses[bin]) { return bin }
            count += Int(counts[bin])
            mass += masses[bin]
        }
        return nil
    }
}
