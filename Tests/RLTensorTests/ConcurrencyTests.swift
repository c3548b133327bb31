import Dispatch
import RLTensor
import Testing

/// The CPU backend splits kernels across one process-wide worker pool. Calls made from several
/// threads at once (the pool serves one at a time; the others run on their own thread) must give
/// exactly the results of the same calls made one after the other.
@Suite("Kernels called from several threads")
struct ConcurrencyTests {
    /// Products split across the pool (rows, columns, batches), a few-row product, softmax rows,
    /// attention heads and a reduction: every parallel path of the backend.
    static func work(seed: UInt64) -> [[Float]] {
        let a = Tensor.randomUniform([96, 80], low: -1, high: 1, seed: seed)
        let b = Tensor.randomUniform([80, 120], low: -1, high: 1, seed: seed + 1)
        let batched = Tensor.randomUniform([6, 40, 40], low: -1, high: 1, seed: seed + 2)
        let x = Tensor.randomUniform([3, 2048], low: -1, high: 1, seed: seed + 3)
        let w = Tensor.randomUniform([700, 2048], low: -1, high: 1, seed: seed + 4)
        let q = Tensor.randomUniform([2, 64, 4, 32], low: -1, high: 1, seed: seed + 5)
        let kv = Tensor.randomUniform([2, 64, 2, 32], low: -1, high: 1, seed: seed + 6)
        let attention = valueAndGrad(at: [q, kv]) { Tensor.attention(query: q, key: kv, value: kv).square().sum() }
        return [
            a.matmul(b).toFloatArray(),
            batched.matmul(batched).toFloatArray(),
            x.linear(w).toFloatArray(),
            Tensor.randomUniform([256, 1024], low: -4, high: 4, seed: seed + 7).softmax().toFloatArray(),
            attention.value.toFloatArray(),
            attention.gradients[0].toFloatArray(),
            attention.gradients[1].toFloatArray(),
            w.sum(axis: 1).toFloatArray(),
        ]
    }

    @Test("eight threads at once get the serial results")
    func concurrentCallers() {
        let seeds: [UInt64] = (0..<8).map { 100 + 10 * UInt64($0) }
        let serial = seeds.map { ConcurrencyTests.work(seed: $0) }
        let results = ResultSlots(count: seeds.count)
        DispatchQueue.concurrentPerform(iterations: seeds.count) { i in
            results.store(ConcurrencyTests.work(seed: seeds[i]), at: i)
        }
        for (i, want) in serial.enumerated() {
            #expect(results.value(at: i) == want, "thread \(i) got different results")
        }
    }
}

/// One result slot per thread, each written by exactly one thread.
private final class ResultSlots: @unchecked Sendable {
    private var slots: [[[Float]]]
    init(count: Int) { slots = Array(repeating: [], count: count) }
    func store(_ value: [[Float]], at index: Int) { slots.withUnsafeMutableBufferPointer { $0[index] = value } }
    func value(at index: Int) -> [[Float]] { slots[index] }
}
