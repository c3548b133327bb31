import RLTensor
import Testing

/// `linear` adds an accumulated weight's gradient into its accumulator a block of rows at a time,
/// and `embedding` its table's gradient row by row (`valueAndAccumulatedGrad`): the same
/// gradient, without a weight-sized f32 copy.
@Suite("Gradients added straight into accumulators")
struct DirectAccumulationTests {
    // 20,000 x 1,024 f32 = 78 MiB: three blocks of at most 32 MiB. Shared by the test cases
    // (made once; read only).
    static let weight = sample([20_000, 1_024], seed: 11, low: -0.05, high: 0.05)
    static let exactGradient = valueAndGrad(at: [weight]) { Self.loss(weight, checkpointed: false) }.gradients[0]
    static let input = sample([2, 3, 1_024], seed: 12)
    static let outputWeights = sample([2, 3, 20_000], seed: 13)
    var weight: Tensor { Self.weight }

    static func loss(_ w: Tensor, checkpointed: Bool) -> Tensor {
        let y = checkpointed ? checkpoint(input) { $0.linear(w) } : input.linear(w)
        return (y * outputWeights).sum()
    }

    @Test("f32 accumulators receive the gradient valueAndGrad computes, added to what they hold, also from a checkpointed block",
          arguments: [false, true])
    func f32Accumulator(checkpointed: Bool) {
        let accumulator = Tensor.ones(weight.shape)
        let scope = HostMemory.Scope()
        scope.measure {
            _ = valueAndAccumulatedGrad(at: ["w": weight], into: ["w": accumulator]) { Self.loss(weight, checkpointed: checkpointed) }
        }
        #expect(scope.peakBytes < weight.count * 2, "peak \(scope.peakBytes) bytes; a full f32 gradient is \(weight.count * 4)")
        let worst = ((accumulator - 1) - Self.exactGradient).abs().reshaped([weight.count]).max(axis: 0).item()
        #expect(worst <= 1e-5, "largest difference \(worst)")
    }

    @Test("bf16 accumulators: the gradient within bf16 rounding, and never a weight-sized f32 gradient alive",
          arguments: [false, true])
    func bf16AccumulatorMemory(checkpointed: Bool) {
        let accumulator = Tensor.zeros(weight.shape, dtype: .bf16)
        let scope = HostMemory.Scope()
        scope.measure {
            _ = valueAndAccumulatedGrad(at: ["w": weight], into: ["w": accumulator], seed: 5) { Self.loss(weight, checkpointed: checkpointed) }
        }
        let weightBytes = weight.count * 4
        #expect(scope.peakBytes < weightBytes / 2, "peak \(scope.peakBytes) bytes; a full f32 gradient is \(weightBytes)")
        let exact = Self.exactGradient
        let worst = ((accumulator.cast(to: .f32) - exact).abs() / (exact.abs() + 1e-3)).reshaped([weight.count]).max(axis: 0).item()
        #expect(worst <= 1.0 / 128, "largest relative difference \(worst) exceeds bf16's resolution")
    }

    @Test("stochastic accumulation block by block with firstIndex equals accumulation at once")
    func blockwiseStochasticRounding() {
        let gradient = sample([300, 70], seed: 21, low: -1e-2, high: 1e-2)
        let start = sample([300, 70], seed: 22).cast(to: .bf16)
        let whole = start.copied(), blocks = start.copied()
        whole.accumulateStochastically(gradient, seed: 9)
        for first in stride(from: 0, to: 300, by: 64) {
            let rows = first..<min(300, first + 64)
            blocks.sliced(axis: 0, rows).accumulateStochastically(gradient.sliced(axis: 0, rows).contiguous(), seed: 9, firstIndex: first * 70)
        }
        #expect(blocks.toFloatArray() == whole.toFloatArray())
        // Without firstIndex every block reuses the first block's random bits: the sums differ.
        let unindexed = start.copied()
        for first in stride(from: 0, to: 300, by: 64) {
            let rows = first..<min(300, first + 64)
            unindexed.sliced(axis: 0, rows).accumulateStochastically(gradient.sliced(axis: 0, rows).contiguous(), seed: 9)
        }
        #expect(unindexed.toFloatArray() != whole.toFloatArray())
    }

    @Test("an embedding table's gradient goes into f32 and bf16 accumulators row by row; untouched rows stay as they were")
    func embeddingTable() {
        let table = sample([50_000, 256], seed: 31)  // 49 MiB
        let ids = Tensor([7, 49_999, 7, 0, 123, 7, 31_000, 0] as [Int32], shape: [2, 4])
        let outputWeights = sample([2, 4, 256], seed: 32)
        func loss() -> Tensor { (table.embedding(ids) * outputWeights).sum() }
        let exact = valueAndGrad(at: [table]) { loss() }.gradients[0]

        let f32 = Tensor.ones(table.shape)
        _ = valueAndAccumulatedGrad(at: ["table": table], into: ["table": f32]) { loss() }
        #expect(((f32 - 1) - exact).abs().reshaped([table.count]).max(axis: 0).item() <= 1e-6)

        let start = sample([50_000, 256], seed: 33).cast(to: .bf16)
        let bf16 = start.copied()
        let scope = HostMemory.Scope()
        scope.measure { _ = valueAndAccumulatedGrad(at: ["table": table], into: ["table": bf16], seed: 3) { loss() } }
        #expect(scope.peakBytes < table.count, "peak \(scope.peakBytes) bytes; a full f32 gradient is \(table.count * 4)")
        let expected = start.cast(to: .f32) + exact
        let worst = (bf16.cast(to: .f32) - expected).abs().reshaped([table.count]).max(axis: 0).item()
        #expect(worst <= 2.0 / 128, "largest difference \(worst)")
        for row in [1, 8, 30_999, 49_998] {
            #expect(bf16.sliced(axis: 0, row..<(row + 1)).toFloatArray() == start.sliced(axis: 0, row..<(row + 1)).toFloatArray())
        }
    }
}
