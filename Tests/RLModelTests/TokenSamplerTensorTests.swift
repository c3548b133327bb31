import Foundation
import RLTensor
import Testing

@testable import RLModel

/// `TokenSampler.sample(rows:)` of logits in a tensor on the CPU (the host sampler, bit for bit),
/// and the reference picks that scripts/cuda-emulate/sample.cpp pins for the emulated CUDA kernel.
/// (The CUDA sampler against the host one on a GPU: Examples/gpu-check, a release build like the
/// one the kernel reproduces.)
@Suite("Token sampling of tensor logits")
struct TokenSamplerTensorTests {
    static let parameters: [SamplingParameters] = [
        .greedy,
        SamplingParameters(temperature: 0, repetitionPenalty: 1.3),
        SamplingParameters(temperature: 1, topP: 0.9),
        SamplingParameters(temperature: 0.7, topP: 0.95, topK: 40, minP: 0.02, repetitionPenalty: 1.2),
        SamplingParameters(temperature: 1.3, topK: 3),
        SamplingParameters(temperature: 1, topK: 1),
        SamplingParameters(temperature: 1, minP: 0.5, repetitionPenalty: 0.8),
    ]

    /// Row `r`'s logit `i`: a multiplicative hash of (i, r) on a 1/128 grid in [-8, 8), so a row
    /// of 3000 has many exact ties; sample.cpp computes the same values.
    static func hashedLogits(rows: Int, vocab: Int) -> [Float] {
        (0..<rows).flatMap { r in
            (0..<vocab).map { i in
                let h = UInt32(truncatingIfNeeded: i) &* 2_654_435_761 &+ UInt32(truncatingIfNeeded: r) &* 2_246_822_519
                return Float(Int(h >> 21)) / 128 - 8
            }
        }
    }

    static func histories(rows: Int) -> [[Int32]] { (0..<rows).map { [Int32($0), Int32($0), 17, 2999, 3001] } }
    static func seeds(rows: Int) -> [UInt64] { (0..<rows).map { 0x9E37_79B9_7F4A_7C15 &* UInt64($0 + 1) } }

    @Test("tensor logits on the CPU sample exactly as the same logits in a buffer", arguments: [3, 3000])
    func cpuTensorMatchesBuffer(vocab: Int) throws {
        let rows = 3
        let logits = TokenSamplerTensorTests.hashedLogits(rows: rows, vocab: vocab)
        let histories = TokenSamplerTensorTests.histories(rows: rows), seeds = TokenSamplerTensorTests.seeds(rows: rows)
        let tensor = Tensor(logits, shape: [rows, vocab])
        for parameters in TokenSamplerTensorTests.parameters {
            let sampler = TokenSampler(parameters)
            let fromTensor = try sampler.sample(rows: tensor, histories: histories, seeds: seeds, step: 5)
            let fromBuffer = try logits.withUnsafeBufferPointer {
                try sampler.sample(rows: $0, vocab: vocab, histories: histories, seeds: seeds, step: 5)
            }
            #expect(fromTensor.map(\.token) == fromBuffer.map(\.token), "\(parameters)")
            #expect(fromTensor.map(\.logProb.bitPattern) == fromBuffer.map(\.logProb.bitPattern), "\(parameters)")
        }
    }

    @Test("tensor logits that do not make one row per seed and history, or are not floats, throw")
    func badTensorLogitsThrow() {
        let sampler = TokenSampler(SamplingParameters(temperature: 1))
        let logits = Tensor([Float](repeating: 0, count: 12), shape: [3, 4])
        for (seeds, histories) in [([UInt64](repeating: 1, count: 2), [[Int32]](repeating: [], count: 3)),
                                   ([UInt64](repeating: 1, count: 3), [[Int32]](repeating: [], count: 2))] {
            #expect(throws: LanguageModelError.self) { try sampler.sample(rows: logits, histories: histories, seeds: seeds, step: 0) }
        }
        let ids = Tensor([Int32](repeating: 0, count: 12), shape: [3, 4])
        #expect(throws: LanguageModelError.self) {
            try sampler.sample(rows: ids, histories: [[], [], []], seeds: [1, 2, 3], step: 0)
        }
        let empty = Tensor([Float](), shape: [3, 0])
        #expect(throws: LanguageModelError.self) {
            try sampler.sample(rows: empty, histories: [[], [], []], seeds: [1, 2, 3], step: 0)
        }
    }

    /// The picks sample.cpp expects from both the CPU sampler's C code (as TokenSampler drives
    /// it, built like a release build) and the emulated CUDA kernel, for three rows of 3000 hashed
    /// logits at step 5: token and log-probability per parameter set (in `parameters` order) and
    /// row. A debug build's exponentials are not fused, so here the log-probabilities may differ
    /// in their last bits.
    static let pinned: [(token: Int32, logProb: Float)] = [
        (987, -5.23752213), (1080, -5.2357378), (2160, -5.23555946), (987, -5.23752213), (1080, -5.2357378), (2160, -5.23555946), (2160, -5.97970963), (2177, -5.5013628), (2731, -6.87618446), (2173, -5.42502213), (2122, -5.3685503), (2681, -5.30587196), (2584, -5.23752213), (2067, -5.2435503), (2160, -5.23555946), (987, -5.23752213), (1080, -5.2357378), (2160, -5.23555946), (2173, -5.42502213), (2177, -5.5013628), (2736, -5.43868446),
    ]

    @Test("the CPU sampler makes the picks the CUDA emulation pins")
    func pinnedPicks() throws {
        let rows = 3, vocab = 3000
        let logits = TokenSamplerTensorTests.hashedLogits(rows: rows, vocab: vocab)
        var picks: [(token: Int32, logProb: Float)] = []
        for parameters in TokenSamplerTensorTests.parameters {
            let got = try logits.withUnsafeBufferPointer {
                try TokenSampler(parameters).sample(rows: $0, vocab: vocab, histories: TokenSamplerTensorTests.histories(rows: rows),
                                                    seeds: TokenSamplerTensorTests.seeds(rows: rows), step: 5)
            }
            picks += got
        }
        let described = picks.map { "(\($0.token), \($0.logProb))" }.joined(separator: ", ")
        let pinned = TokenSamplerTensorTests.pinned
        #expect(picks.map(\.token) == pinned.map(\.token), "\(described)")
        #expect(picks.count == pinned.count && zip(picks, pinned).allSatisfy { abs($0.logProb - $1.logProb) <= 1e-5 * abs($1.logProb) },
                "\(described)")
    }
}
