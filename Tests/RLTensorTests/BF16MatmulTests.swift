import RLTensor
import Testing

/// Products with a frozen bf16 weight beyond the few-row kernels, a training forward (many rows)
/// and the input gradient (the weight not transposed), go to the AMX tiles where the CPU has
/// them (the other operand rounded to bf16), otherwise through widened f32 panels.
@Suite("bf16 weight products")
struct BF16MatmulTests {
    @Test("many rows and the input gradient equal the f32 product of the rounded weight", arguments: [(300, 70, 530), (33, 257, 9), (40, 1030, 20)])
    func manyRowsAndBackward(_ m: Int, _ k: Int, _ n: Int) throws {
        let x = Tensor.randomNormal([m, k], seed: 1)
        let w16 = Tensor.randomNormal([n, k], seed: 2).cast(to: .bf16)
        let w32 = w16.cast(to: .f32)
        let upstream = Tensor.randomNormal([m, n], seed: 3)
        // The f32 references multiply what the bf16 kernels multiply: x, and the upstream
        // gradient times the weight, rounded too where the kernels round them.
        func rounded(_ t: Tensor, _ rounds: Bool) -> Tensor { rounds ? t.cast(to: .bf16).cast(to: .f32) : t }
        let xRef = rounded(x, CPUBackend.bf16WeightProductRoundsA(rows: m))
        let upstreamRef = rounded(upstream, CPUBackend.bf16WeightProductRoundsA(rows: m, weightTransposed: false))
        let (y16, g16) = valueAndGrad(at: [x]) { (x.linear(w16) * upstream).sum() }
        let y32 = (xRef.linear(w32) * upstream).sum()
        let (_, g32) = valueAndGrad(at: [x]) { (x.linear(w32) * upstreamRef).sum() }
        #expect(abs(y16.item() - y32.item()) <= 1e-3 * max(1, abs(y32.item())))
        let a = g16[0].toFloatArray(), b = g32[0].toFloatArray()
        #expect(zip(a, b).map { abs($0 - $1) }.max()! <= 1e-4)
        let forward16 = x.linear(w16).toFloatArray(), forward32 = xRef.linear(w32).toFloatArray()
        #expect(zip(forward16, forward32).map { abs($0 - $1) }.max()! <= 1e-4)
    }

    @Test("an input gradient through a vocabulary-sized weight packs it in slices (LM head)")
    func vocabularySizedInputGradient() throws {
        // 70,000 outputs: the packed slice of the weight is capped at 64 MiB, so its 600 columns
        // go in two slices.
        let (m, k, n) = (8, 600, 70_000)
        let x = Tensor.randomNormal([m, k], seed: 4)
        let w16 = Tensor.randomNormal([n, k], seed: 5).cast(to: .bf16)
        let upstream = Tensor.randomNormal([m, n], seed: 6)
        let upstreamRef = CPUBackend.bf16WeightProductRoundsA(rows: m, weightTransposed: false)
            ? upstream.cast(to: .bf16).cast(to: .f32) : upstream
        let (_, g16) = valueAndGrad(at: [x]) { (x.linear(w16) * upstream).sum() }
        let (_, g32) = valueAndGrad(at: [x]) { (x.linear(w16.cast(to: .f32)) * upstreamRef).sum() }
        let a = g16[0].toFloatArray(), b = g32[0].toFloatArray()
        let scale = b.map { abs($0) }.max()!
        #expect(zip(a, b).map { abs($0 - $1) }.max()! <= 1e-5 * scale, "scale \(scale)")
    }

    @Test("a frozen f32 weight gets no gradient product; a tracked one does")
    func frozenWeight() {
        let x = Tensor.randomNormal([4, 3], seed: 1), w = Tensor.randomNormal([5, 3], seed: 2)
        let (_, onlyX) = valueAndGrad(at: [x]) { x.linear(w).sum() }
        let (_, both) = valueAndGrad(at: [x, w]) { x.linear(w).sum() }
        #expect(onlyX[0].toFloatArray() == both[0].toFloatArray())
        // d/dw sum(x w^T) = column sums of x, for every output row.
        let xs = x.toFloatArray()
        let columnSums = (0..<3).map { j in (0..<4).reduce(Float(0)) { $0 + xs[$1 * 3 + j] } }
        #expect(zip(both[1].toFloatArray(), (0..<5).flatMap { _ in columnSums }).allSatisfy { abs($0 - $1) < 1e-5 })
    }
}
