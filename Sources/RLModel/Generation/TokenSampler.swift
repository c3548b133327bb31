import RLTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Picks tokens from one row of logits. Each draw uses its own Philox block (key = the
/// sequence's seed, counter = the step), so a sequence's samples do not depend on which other
/// sequences share its batch.
public struct TokenSampler: Sendable {
    public let parameters: SamplingParameters

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
    }

    /// The chosen token and its log-probability under the unmodified model distribution
    /// (temperature 1, no truncation).
    public func sample(logits raw: UnsafeBufferPointer<Float>, history: [Int32], seed: UInt64, step: UInt64) -> (token: Int32, logProb: Float) {
        let vocab = raw.count
        // Model log-probability normaliser.
        var maxLogit = -Float.infinity
        for v in raw where v > maxLogit { maxLogit = v }
        var sum: Double = 0
        for v in raw { sum += Double(expf(v - maxLogit)) }
        let logNormaliser = maxLogit + Float(Foundation_log(sum))

        var logits = Array(raw)
        if parameters.repetitionPenalty != 1 {
            for token in Set(history) where Int(token) < vocab {
                let v = logits[Int(token)]
                logits[Int(token)] = v > 0 ? v / parameters.repetitionPenalty : v * parameters.repetitionPenalty
            }
        }
        let chosen: Int
        if parameters.isGreedy {
            chosen = logits.indices.max { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) } ?? 0
        } else {
            chosen = draw(from: logits, seed: seed, step: step)
        }
        return (Int32(chosen), raw[chosen] - logNormaliser)
    }

    /// Samples from softmax(logits / T) restricted by top-k, min-p and top-p.
    private func draw(from logits: [Float], seed: UInt64, step: UInt64) -> Int {
        let inverseT = 1 / parameters.temperature
        var top = -Float.infinity
        for v in logits where v > top { top = v }
        var probs = [Float](repeating: 0, count: logits.count)
        var total: Double = 0
        for i in logits.indices {
            let p = expf((logits[i] - top) * inverseT)
            probs[i] = p
            total += Double(p)
        }
        // Probabilities are relative to the top token (top = 1). Top-k and nucleus sets consist
        // of the most likely tokens, so only tokens above a threshold whose mass already covers
        // what is needed are sorted; the threshold drops until it does.
        let floor = Swift.max(parameters.minP, 0)
        let truncating = parameters.topK > 0 || parameters.topP < 1
        var threshold: Float = truncating ? Swift.max(floor, 1e-3) : floor
        var candidates: [Int]
        while true {
            candidates = probs.indices.filter { probs[$0] >= threshold && probs[$0] > 0 }
            if !truncating || threshold <= floor { break }
            if parameters.topK > 0 && candidates.count >= parameters.topK { break }
            if parameters.topK == 0 && candidates.reduce(0.0, { $0 + Double(probs[$1]) }) >= Double(parameters.topP) * total { break }
            threshold = threshold < 1e-30 ? floor : Swift.max(threshold / 64, floor)
        }
        candidates.sort { probs[$0] > probs[$1] || (probs[$0] == probs[$1] && $0 < $1) }
        if parameters.topK > 0 && candidates.count > parameters.topK {
            candidates.removeLast(candidates.count - parameters.topK)
            total = candidates.reduce(0.0) { $0 + Double(probs[$1]) }
        }
        if parameters.topP < 1 {
            var running: Double = 0
            var keep = 0
            for index in candidates {
                running += Double(probs[index])
                keep += 1
                if running >= Double(parameters.topP) * total { break }
            }
            candidates.removeLast(candidates.count - keep)
        }
        let keptMass = candidates.reduce(0.0) { $0 + Double(probs[$1]) }
        let (w0, w1, _, _) = Philox.block(counter: step, key: seed)
        let u = (Double(w0) * 4_294_967_296.0 + Double(w1)) / 18_446_744_073_709_551_616.0
        var target = u * keptMass
        for index in candidates {
            target -= Double(probs[index])
            if target < 0 { return index }
        }
        return candidates.last ?? 0
    }
}

@inline(__always) private func Foundation_log(_ x: Double) -> Double { log(x) }
