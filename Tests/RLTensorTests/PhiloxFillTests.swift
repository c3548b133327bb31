import CRLKernels
import Testing

@testable import RLTensor

/// The vectorised uniform fill (AVX-512, AVX2 and scalar C) against the scalar Swift definition
/// every backend shares, bit for bit; dropout masks come from it.
@Suite("Philox uniform fill")
struct PhiloxFillTests {
    /// The instruction sets this CPU can run: 0 scalar, 1 AVX2, 2 AVX-512.
    static let instructionSets: [Int32] = {
        var features = rl_cpu_features()
        rl_cpu_features_read(&features)
        return [0] + (features.avx2 != 0 && features.fma != 0 ? [1] : []) + (features.avx512f != 0 && features.avx512bw != 0 && features.avx512dq != 0 && features.avx512vl != 0 ? [2] : [])
    }()

    static let cases: [(seed: UInt64, offset: UInt64, count: Int, low: Float, high: Float)] = [
        (0, 0, 37, 0, 1),
        (0xDEAD_BEEF_0123_4567, 12_345, 1_000, -2, 3),
        // The counter's low word wraps inside a block of 16: the carry reaches the high word.
        (7, 0xFFFF_FFF5, 64, 0, 1),
        (UInt64.max, 0x1_FFFF_FFFE, 33, 0.25, 0.75),
    ]

    @Test("every instruction set gives the scalar Swift numbers", arguments: instructionSets)
    func matchesSwift(isa: Int32) {
        for c in Self.cases {
            var filled = [Float](repeating: .nan, count: c.count)
            filled.withUnsafeMutableBufferPointer {
                rl_philox_uniform_f32_isa($0.baseAddress, c.count, c.seed, c.offset, c.low, c.high, isa)
            }
            let expected = (0..<c.count).map {
                Philox.sample(.uniform(low: c.low, high: c.high), seed: c.seed, index: c.offset &+ UInt64($0))
            }
            let first = filled.indices.first { filled[$0].bitPattern != expected[$0].bitPattern }
            #expect(first == nil, "isa \(isa), seed \(c.seed), offset \(c.offset): element \(first ?? -1) is \(first.map { filled[$0] } ?? 0), want \(first.map { expected[$0] } ?? 0)")
        }
    }

    @Test("the backend's uniform fill is the same stream")
    func backendFill() {
        let drawn = Tensor.randomUniform([5, 41], low: -1, high: 1, seed: 99).toFloatArray()
        let expected = (0..<205).map { Philox.sample(.uniform(low: -1, high: 1), seed: 99, index: UInt64($0)) }
        #expect(drawn.map(\.bitPattern) == expected.map(\.bitPattern))
    }
}
