import CRLKernels
import Foundation
import RLTensor
import Testing

@testable import RLModel

/// `TokenSampler` against references: the truncation (min-p, top-k, top-p) against a full sort,
/// the draw against a plain walk over the kept tokens, log-probabilities against a double
/// log-softmax, and the sampled frequencies against the probabilities.
@Suite("Token sampling")
struct TokenSamplerTests {
    /// Deterministic pseudo-random values in [0, 1).
    static func uniforms(_ count: Int, seed: UInt64) -> [Double] {
        (0..<count).map { i in
            let (w0, _, _, _) = Philox.block(counter: UInt64(i), key: seed)
            return Double(w0) / 4_294_967_296.0
        }
    }

    /// Logit rows of different shapes: spread out, one dominant token, and many exact ties.
    static func logitRows(vocab: Int) -> [(name: String, logits: [Float])] {
        let u = uniforms(vocab, seed: 11)
        let spread = u.map { Float($0 * 8 - 4) }
        var peaked = spread
        peaked[vocab / 3] = 15
        let tied = u.map { Float(($0 * 8).rounded() / 2) }  // 17 distinct values
        return [("spread", spread), ("peaked", peaked), ("ties", tied)]
    }

    static let truncations: [SamplingParameters] = [
        SamplingParameters(temperature: 1),
        SamplingParameters(temperature: 0.7, topP: 0.95),
        SamplingParameters(temperature: 1, topP: 0.5),
        SamplingParameters(temperature: 0.7, topP: 0.01),
        SamplingParameters(temperature: 1, topK: 1),
        SamplingParameters(temperature: 0.7, topK: 7),
        SamplingParameters(temperature: 1, topK: 5000),
        SamplingParameters(temperature: 1, topP: 0.9, topK: 40),
        SamplingParameters(temperature: 0.7, topP: 0.9, minP: 0.1),
        SamplingParameters(temperature: 1, minP: 0.5),
    ]

    /// The kept token ids by sorting everything: eligible tokens (p >= minP, p > 0) ranked by
    /// probability then id, top-k's first k, then top-p's shortest prefix reaching topP of the
    /// total (of the top-k when it cut). Nil when a prefix mass lands within rounding of the
    /// top-p target, where the two summation orders may legitimately disagree.
    static func naiveKept(_ p: [Float], total: Double, _ parameters: SamplingParameters) -> Set<Int>? {
        let floor = max(parameters.minP, 0)
        var ranked = p.indices.filter { p[$0] >= floor && p[$0] > 0 }
        ranked.sort { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }
        var keptTotal = total
        if parameters.topK > 0 && parameters.topK < ranked.count {
            ranked = Array(ranked.prefix(parameters.topK))
            keptTotal = ranked.reduce(0) { $0 + Double(p[$1]) }
        }
        if parameters.topP < 1 {
            let target = Double(parameters.topP) * keptTotal
            var mass: Double = 0
            for (position, i) in ranked.enumerated() {
                mass += Double(p[i])
                if abs(mass - target) <= 1e-9 * target { return nil }
                if mass >= target {
                    ranked = Array(ranked.prefix(position + 1))
                    break
                }
            }
        }
        return Set(ranked)
    }

    static func isKept(_ p: [Float], _ i: Int, floor: Float, _ cutoff: (probability: Float, index: Int64)) -> Bool {
        p[i] >= floor && p[i] > 0 && (p[i] > cutoff.probability || (p[i] == cutoff.probability && Int64(i) <= cutoff.index))
    }

    /// Probabilities relative to the top token, as the sampler computes them, and their sum.
    static func probabilities(_ logits: [Float], temperature: Float) -> (p: [Float], total: Double) {
        let top = logits.max()!
        let p = logits.map { Float(exp(Double($0 - top) / Double(temperature))) }
        return (p, p.reduce(0) { $0 + Double($1) })
    }

    @Test("min-p, top-k and top-p keep exactly the tokens a full sort keeps", arguments: [1000, 40_000])
    func truncationMatchesSort(vocab: Int) throws {
        var compared = 0
        for row in TokenSamplerTests.logitRows(vocab: vocab) {
            for parameters in TokenSamplerTests.truncations {
                let (p, total) = TokenSamplerTests.probabilities(row.logits, temperature: parameters.temperature)
                guard let want = TokenSamplerTests.naiveKept(p, total: total, parameters) else { continue }
                let sampler = TokenSampler(parameters)
                let (cutoff, mass) = p.withUnsafeBufferPointer { sampler.truncation(of: $0, total: total) }
                let got = Set(p.indices.filter {
                    TokenSamplerTests.isKept(p, $0, floor: sampler.floor, (cutoff.probability, cutoff.index))
                })
                #expect(got == want, "\(row.name), \(parameters): kept \(got.count) tokens, the sort keeps \(want.count)")
                let wantMass = want.reduce(0) { $0 + Double(p[$1]) }
                #expect(abs(mass - wantMass) <= 1e-9 * wantMass, "\(row.name), \(parameters): kept mass \(mass) vs \(wantMass)")
                compared += 1
            }
        }
        #expect(compared >= 27, "only \(compared) of 30 cases were unambiguous")
    }

    @Test("top-p without min-p or top-k (the ranking's fast path) gives the general path's cutoff and mass bit for bit")
    func fastPrefixEqualsGeneral() {
        var rows = TokenSamplerTests.logitRows(vocab: 40_000)
        rows.append(("above one", rows[0].logits.map { $0 + 0.01 }))  // probabilities slightly above 1 share bin 0
        for row in rows {
            for temperature: Float in [0.3, 0.7, 1.5] {
                let (p, total) = TokenSamplerTests.probabilities(row.logits, temperature: temperature)
                var q = p
                if row.name == "above one" { q = q.map { $0 * 1.0001 } }
                for topP in [0.01, 0.5, 0.95, 0.999] {
                    let none = rl_rank_cutoff(probability: -1, index: .max)
                    var fast = none, general = none, fastMass = 0.0, generalMass = 0.0
                    var fastLeaves: Int32 = 0, generalLeaves: Int32 = 0
                    // A floor of the smallest positive float keeps the same tokens but takes the general loops.
                    rl_rank_prefix(q, q.count, 0, none, 0, topP * total, &fast, &fastMass, &fastLeaves)
                    rl_rank_prefix(q, q.count, .leastNonzeroMagnitude, none, 0, topP * total, &general, &generalMass, &generalLeaves)
                    #expect(fast.probability == general.probability && fast.index == general.index
                            && fastMass.bitPattern == generalMass.bitPattern && fastLeaves == generalLeaves,
                            "\(row.name), T \(temperature), top-p \(topP): \(fast) \(fastMass) vs \(general) \(generalMass)")
                }
            }
        }
    }

    @Test("the draw stops where u x mass runs out, walking kept tokens in id order")
    func drawMatchesWalk() throws {
        for row in TokenSamplerTests.logitRows(vocab: 5000) {
            for parameters in [SamplingParameters(temperature: 1), SamplingParameters(temperature: 0.7, topP: 0.9, minP: 0.05)] {
                let (p, total) = TokenSamplerTests.probabilities(row.logits, temperature: parameters.temperature)
                let sampler = TokenSampler(parameters)
                let (cutoff, mass) = p.withUnsafeBufferPointer { sampler.truncation(of: $0, total: total) }
                let kept = p.indices.filter { TokenSamplerTests.isKept(p, $0, floor: sampler.floor, (cutoff.probability, cutoff.index)) }
                for u in TokenSamplerTests.uniforms(200, seed: 5) + [0, 1 - 1e-16] {
                    var target = u * mass
                    var want = kept.last!
                    for i in kept {
                        target -= Double(p[i])
                        if target < 0 { want = i; break }
                    }
                    let got = p.withUnsafeBufferPointer {
                        TokenSampler.choose(from: $0, floor: sampler.floor, cutoff: cutoff, mass: mass, u: u)
                    }
                    #expect(got == want, "\(row.name), \(parameters), u = \(u)")
                }
            }
        }
    }

    @Test("log-probabilities are the untruncated log-softmax; greedy takes the first maximum")
    func logProbabilitiesAndGreedy() throws {
        let logits: [Float] = [0.5, 3, -1, 3, 2.5, -7]
        let logNormaliser = log(logits.reduce(0) { $0 + exp(Double($1)) })
        for parameters in [SamplingParameters.greedy, SamplingParameters(temperature: 0.6, topP: 0.5, topK: 2)] {
            let sampler = TokenSampler(parameters)
            for step in 0..<20 {
                let (token, logProb) = try logits.withUnsafeBufferPointer { try sampler.sample(logits: $0, history: [], seed: 3, step: UInt64(step)) }
                #expect(abs(Double(logProb) - (Double(logits[Int(token)]) - logNormaliser)) < 1e-5)
                if parameters.isGreedy { #expect(token == 1) } else { #expect(token == 1 || token == 3) }
            }
        }
        // Greedy on long rows: the first of tied maxima, NaNs passed over, a NaN first value kept,
        // -0 and +0 equal, all -infinity.
        func greedy(_ row: [Float]) -> Int { row.withUnsafeBufferPointer { TokenSampler.argmax($0) } }
        var long = (0..<1000).map { Float($0 % 97) / 10 }
        #expect(greedy(long) == 96)
        long[500] = .nan
        long[700] = 20
        long[900] = 20
        #expect(greedy(long) == 700)
        long[0] = .nan
        #expect(greedy(long) == 0)
        #expect(greedy([-0.0, 0.0, -1]) == 0 && greedy([-1, 0.0, -0.0]) == 1)
        #expect(greedy([Float](repeating: -.infinity, count: 20)) == 0)
        #expect(greedy([1, .nan, .nan]) == 0 && greedy([-5]) == 0)
        // The repetition penalty divides a positive logit already seen: 3 / 2 = 1.5 falls below 2.5.
        let penalised = TokenSampler(SamplingParameters(temperature: 0, repetitionPenalty: 2))
        let choice = try logits.withUnsafeBufferPointer { try penalised.sample(logits: $0, history: [1, 3], seed: 0, step: 0) }
        #expect(choice.token == 4)
    }

    @Test("sampled frequencies follow the truncated, renormalised probabilities")
    func frequencies() throws {
        let logits: [Float] = [1, 0.2, 2, -0.5, 1.5, 0, -3, 0.7]
        let parameters = SamplingParameters(temperature: 0.8, topP: 0.9)
        let (p, total) = TokenSamplerTests.probabilities(logits, temperature: parameters.temperature)
        let kept = TokenSamplerTests.naiveKept(p, total: total, parameters)!
        let keptMass = kept.reduce(0) { $0 + Double(p[$1]) }
        let sampler = TokenSampler(parameters)
        let draws = 40_000
        var counts = [Int](repeating: 0, count: logits.count)
        for step in 0..<draws {
            let token = try logits.withUnsafeBufferPointer { try sampler.sample(logits: $0, history: [], seed: 17, step: UInt64(step)).token }
            counts[Int(token)] += 1
        }
        for i in logits.indices {
            let expected = kept.contains(i) ? Double(p[i]) / keptMass : 0
            let sigma = (expected * (1 - expected) / Double(draws)).squareRoot()
            #expect(abs(Double(counts[i]) / Double(draws) - expected) <= 5 * sigma + 1e-12, "token \(i): \(counts[i]) of \(draws), expected \(expected)")
        }
    }

    @Test("a batch of rows samples each row as on its own")
    func rowsMatchSingleRows() throws {
        let vocab = 3000
        let rows = TokenSamplerTests.logitRows(vocab: vocab).map(\.logits)
        let flat = rows.flatMap { $0 }
        let sampler = TokenSampler(SamplingParameters(temperature: 0.7, topP: 0.95))
        let seeds: [UInt64] = [4, 9, 1]
        let batch = try flat.withUnsafeBufferPointer {
            try sampler.sample(rows: $0, vocab: vocab, histories: [[], [], []], seeds: seeds, step: 12)
        }
        for (r, row) in rows.enumerated() {
            let single = try row.withUnsafeBufferPointer { try sampler.sample(logits: $0, history: [], seed: seeds[r], step: 12) }
            #expect(batch[r].token == single.token && batch[r].logProb == single.logProb)
        }
    }
}
