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
/// patterns, and only the tokens of the one histogram bin where the prefix ends are sorted
/// (`rl_sampling.h`).
public struct TokenSampler: Sendable {
    public let parameters: SamplingParameters

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
    }

    /// The chosen token and its log-probability under the unmodified model distribution
    /// (temperature 1, no truncation). Empty `logits` throw `LanguageModelError.invalidArgument`.
    public func sample(logits raw: UnsafeBufferPointer<Float>, history: [Int32], seed: UInt64, step: UInt64) throws -> (token: Int32, logProb: Float) {
        guard !raw.isEmpty else { throw LanguageModelError.invalidArgument("logits", "is empty") }
        return pick(logits: raw, history: history, seed: seed, step: step)
    }

    /// `sample(logits:...)` of non-empty logits.
    func pick(logits raw: UnsafeBufferPointer<Float>, history: [Int32], seed: UInt64, step: UInt64) -> (token: Int32, logProb: Float) {
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
    /// `seeds[r]`. Throws `LanguageModelError.invalidArgument` unless `vocab` ≥ 1 and there are
    /// `rows × vocab` logits and `rows` histories.
    public func sample(rows logits: UnsafeBufferPointer<Float>, vocab: Int, histories: [[Int32]], seeds: [UInt64],
                       step: UInt64) throws -> [(token: Int32, logProb: Float)] {
        let rows = seeds.count
        guard vocab >= 1, logits.count == rows * vocab, histories.count == rows else {
            throw LanguageModelError.invalidArgument("logits", "\(logits.count) logits, \(histories.count) histories and \(rows) seeds "
                + "do not make rows of \(vocab)")
        }
        return [(token: Int32, logProb: Float)](unsafeUninitializedCapacity: rows) { picks, initialized in
            Parallel.ranges(rows, grain: 1) { first, end in
                for row in first..<end {
                    let rowLogits = UnsafeBufferPointer(rebasing: logits[row * vocab..<(row + 1) * vocab])
                    (picks.baseAddress! + row).initialize(to: pick(logits: rowLogits, history: histories[row], seed: seeds[row], step: step))
                }
            }
            initialized = rows
        }
    }

    /// `sample(rows:vocab:...)` of logits in a tensor (`[..., vocab]`, floating point, read as
    /// f32; `rows` = its count / `vocab`; on any device). On a device with its own sampler (CUDA) the picks are made there,
    /// the same tokens and log-probabilities as on the host for the same logits (a draw can differ
    /// only where a running probability mass lies within about 1e-16 of its target), and only they
    /// come back (8 bytes a row); elsewhere the logits are read and sampled on the host. Throws
    /// `LanguageModelError.invalidArgument` unless the logits are floating point with a last axis ≥ 1 and
    /// there are as many histories and seeds as rows; a device error is rethrown.
    public func sample(rows logits: Tensor, histories: [[Int32]], seeds: [UInt64], step: UInt64) throws -> [(token: Int32, logProb: Float)] {
        let vocab = logits.shape.last ?? 0
        guard logits.dtype.isFloatingPoint, vocab >= 1, logits.count == seeds.count * vocab, histories.count == seeds.count else {
            throw LanguageModelError.invalidArgument("logits", "\(logits) with \(histories.count) histories and \(seeds.count) seeds "
                + "is not floating-point rows of at least one logit, one row per seed and history")
        }
        let packed = logits.cast(to: .f32).contiguous()
        let descriptor = TokenSamplingDescriptor(rows: seeds.count, vocab: vocab, temperature: parameters.temperature, topK: parameters.topK,
                                                 topP: parameters.topP, minP: parameters.minP,
                                                 repetitionPenalty: parameters.repetitionPenalty, step: step)
        if let picks = try packed.storage.backend.sampleTokens(descriptor, logits: BufferRef(packed.storage.buffer, offset: packed.offset),
                                                               seeds: seeds, histories: histories) {
            return picks
        }
        return try packed.toFloatArray().withUnsafeBufferPointer {
            try sample(rows: $0, vocab: vocab, histories: histories, seeds: seeds, step: step)
        }
    }

    private func pick(from logits: UnsafeBufferPointer<Float>, seed: UInt64, step: UInt64) -> Int {
        parameters.isGreedy ? TokenSampler.argmax(logits) : draw(from: logits, seed: seed, step: step)
    }

    /// The first index of the largest value (NaNs are passed over; a NaN first value is kept, as
    /// a walk comparing with `>` would keep it). `x` is not empty.
    static func argmax(_ x: UnsafeBufferPointer<Float>) -> Int {
        guard !x[0].isNaN else { return 0 }
        // The vectorised maximum of the non-NaN values, then its first position.
        let top = rl_max_f32(x.baseAddress, x.count)
        return x.firstIndex(of: top) ?? 0
    }

    /// `log(sum(exp(x)))`, summed in double.
    static func logSumExp(_ x: UnsafeBufferPointer<Float>) -> Float {
        let maxValue = rl_max_f32(x.baseAddress, x.count)
        return maxValue + Float(log(rl_exp_shifted_f32(x.baseAddress, x.count, maxValue, 1, nil)))
    }

    /// Samples from softmax(logits / T) restricted by min-p, top-k and top-p.
    private func draw(from logits: UnsafeBufferPointer<Float>, seed: UInt64, step: UInt64) -> Int {
        let top = rl_max_f32(logits.baseAddress, logits.count)
        var total: Double = 0
        let probabilities = [Float](unsafeUninitializedCapacity: logits.count) { buffer, initialized in
            total = rl_exp_shifted_f32(logits.baseAddress, logits.count, top, 1 / parameters.temperature, buffer.baseAddress)
            initialized = logits.count
        }
        let (w0, w1, _, _) = Philox.block(counter: step, key: seed)
        let u = (Double(w0) * 4_294_967_296.0 + Double(w1)) / 18_446_744_073_709_551_616.0
        return probabilities.withUnsafeBufferPointer { probs in
            let (cutoff, mass) = truncation(of: probs, total: total)
            return TokenSampler.choose(from: probs, floor: floor, cutoff: cutoff, mass: mass, u: u)
        }
    }

    /// Probabilities below this (relative to the top token) are never drawn.
    var floor: Float { Swift.max(parameters.minP, 0) }

    /// The tokens min-p, top-k and top-p keep from `probabilities` (relative to the top token, whose
    /// sum is `total`), as a prefix of the ranking (probability descending, ties by token id), and
    /// their mass. Tokens below `minP` are never kept; top-k keeps the `topK` most likely of the
    /// rest; top-p keeps the shortest prefix of those whose mass reaches `topP` of the total (the
    /// total over all tokens, or over the top-k when top-k cut).
    func truncation(of probabilities: UnsafeBufferPointer<Float>, total: Double) -> (cutoff: rl_rank_cutoff, mass: Double) {
        let p = probabilities.baseAddress, n = probabilities.count
        var kept = rl_rank_cutoff(probability: -1, index: .max)
        var keptTotal = total
        var keptMass: Double?
        var cutoff = kept, mass: Double = 0, leavesOut: Int32 = 0
        if parameters.topK > 0 {
            rl_rank_prefix(p, n, floor, kept, parameters.topK, 0, &cutoff, &mass, &leavesOut)
            if leavesOut != 0 {
                kept = cutoff
                keptTotal = mass
            }
            keptMass = mass
        }
        if parameters.topP < 1 {
            rl_rank_prefix(p, n, floor, kept, 0, Double(parameters.topP) * keptTotal, &cutoff, &mass, &leavesOut)
            kept = cutoff
            keptMass = mass
        }
        return (kept, keptMass ?? rl_rank_mass(p, n, floor, kept))
    }

    /// The token where `u * mass` runs out, walking the kept tokens in id order.
    static func choose(from probabilities: UnsafeBufferPointer<Float>, floor: Float, cutoff: rl_rank_cutoff, mass: Double,
                       u: Double) -> Int {
        rl_rank_draw(probabilities.baseAddress, probabilities.count, floor, cutoff, u * mass)
    }
}
