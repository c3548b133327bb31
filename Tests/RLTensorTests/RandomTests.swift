import RLTensor
import Testing

/// Philox4x32-10 and the seeded fills built on it.
@Suite("Random")
struct RandomTests {
    @Test("Philox4x32-10 matches the Random123 known-answer vector for counter 0, key 0")
    func knownAnswer() {
        let (a, b, c, d) = Philox.block(counter: 0, key: 0)
        #expect([a, b, c, d] == [0x6627_E8D5, 0xE169_C58D, 0xBC57_AC4C, 0x9B00_DBD8])
    }

    @Test("same seed, same stream; different seeds differ; fills follow the counter", arguments: TestDevices.all)
    func determinism(device: Device) {
        let a = Tensor.randomNormal([1000], seed: 42, device: device).toFloatArray()
        let b = Tensor.randomNormal([1000], seed: 42, device: device).toFloatArray()
        let c = Tensor.randomNormal([1000], seed: 43, device: device).toFloatArray()
        #expect(a == b)
        #expect(zip(a, c).filter { $0 == $1 }.count < 5)
        // Element i is the draw at counter i: a longer fill extends a shorter one.
        let longer = Tensor.randomNormal([70_000], seed: 42, device: device).toFloatArray()
        #expect(Array(longer.prefix(1000)) == a)
        #expect(longer[69_999] == Philox.sample(.normal(mean: 0, std: 1), seed: 42, index: 69_999))
        let u = Tensor.randomUniform([1000], low: -2, high: 3, seed: 7, device: device).toFloatArray()
        #expect(u.allSatisfy { $0 >= -2 && $0 < 3 })
        #expect(u[17] == Philox.sample(.uniform(low: -2, high: 3), seed: 7, index: 17))
    }

    @Test("normal draws have mean 0 and std 1, uniform draws mean 1/2, over 100k samples", arguments: TestDevices.all)
    func moments(device: Device) {
        let n = 100_000
        let normal = Tensor.randomNormal([n], seed: 2024, device: device).doubles
        let mean = normal.reduce(0, +) / Double(n)
        let std = (normal.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)).squareRoot()
        // Standard errors: 1/sqrt(n) = 0.0032 for the mean, 1/sqrt(2n) = 0.0022 for the std.
        #expect(Swift.abs(mean) < 0.013, "mean \(mean)")
        #expect(Swift.abs(std - 1) < 0.009, "std \(std)")
        #expect(normal.allSatisfy { $0.isFinite })
        let shifted = Tensor.randomNormal([n], mean: 3, std: 0.5, seed: 9, device: device).doubles
        #expect(Swift.abs(shifted.reduce(0, +) / Double(n) - 3) < 0.007)
        let uniform = Tensor.randomUniform([n], seed: 5, device: device).doubles
        #expect(Swift.abs(uniform.reduce(0, +) / Double(n) - 0.5) < 0.004)  // 4 standard errors of 0.29/sqrt(n)
    }
}
