import CRLKernels
import Foundation
import Testing

/// The vectorised AdamW kernel (AVX-512, AVX2) gives the scalar loop's bits, and the scalar loop
/// follows AdamW's formula.
@Suite("AdamW kernel")
struct AdamWKernelTests {
    /// Parameters, gradients and moments of 1,037 elements (not a multiple of 8 or 16): random,
    /// with zeros, tiny and large gradients mixed in.
    static func state() -> (param: [Float], grad: [Float], m: [Float], v: [Float]) {
        var generator = SystemRandomNumberGenerator()
        let n = 1_037
        let param = (0..<n).map { _ in Float.random(in: -2...2, using: &generator) }
        let grad = (0..<n).map { i -> Float in
            switch i % 5 {
            case 0: 0
            case 1: Float.random(in: -1e-6...1e-6, using: &generator)
            case 2: Float.random(in: -30...30, using: &generator)
            default: Float.random(in: -1...1, using: &generator)
            }
        }
        let m = (0..<n).map { _ in Float.random(in: -0.1...0.1, using: &generator) }
        let v = (0..<n).map { _ in Float.random(in: 0...0.01, using: &generator) }
        return (param, grad, m, v)
    }

    /// Step 3's bias corrections, 1 - β^3 (computed once: in f32, 1 - 0.999^3 loses 5 digits).
    static let biasCorrections = (first: Float(1 - 0.9 * 0.9 * 0.9 as Double), second: Float(1 - 0.999 * 0.999 * 0.999 as Double))

    static func run(isa: Int32, _ s: (param: [Float], grad: [Float], m: [Float], v: [Float])) -> [[Float]] {
        var (param, m, v) = (s.param, s.m, s.v)
        param.withUnsafeMutableBufferPointer { p in
            m.withUnsafeMutableBufferPointer { mp in
                v.withUnsafeMutableBufferPointer { vp in
                    rl_adamw_f32_isa(p.baseAddress, s.grad, mp.baseAddress, vp.baseAddress, p.count, 1e-3, 0.9, 0.999, 1e-8, 0.01,
                                     biasCorrections.first, biasCorrections.second, isa)
                }
            }
        }
        return [param, m, v]
    }

    @Test("every instruction set gives the scalar loop's parameters and moments, bit for bit",
          arguments: PhiloxFillTests.instructionSets.filter { $0 > 0 })
    func sameBits(isa: Int32) {
        let s = Self.state()
        let scalar = Self.run(isa: 0, s), vector = Self.run(isa: isa, s)
        for (name, (a, b)) in zip(["parameters", "first moments", "second moments"], zip(scalar, vector)) {
            let first = a.indices.first { a[$0].bitPattern != b[$0].bitPattern }
            #expect(first == nil, "isa \(isa): \(name) differ at \(first ?? -1)")
        }
    }

    @Test("the scalar loop follows AdamW (decoupled decay, bias-corrected moments) within f32 rounding")
    func formula() {
        let s = Self.state()
        let result = Self.run(isa: 0, s)
        // The kernel's f32 constants, exactly; tolerances relative to the terms' magnitudes.
        let (lr, b1, b2, eps, decay) = (Double(Float(1e-3)), Double(Float(0.9)), Double(Float(0.999)), Double(Float(1e-8)), Double(Float(0.01)))
        let (c1, c2) = (Double(1 - Float(0.9)), Double(1 - Float(0.999)))
        let (bc1, bc2) = (Double(Self.biasCorrections.first), Double(Self.biasCorrections.second))
        for i in s.param.indices {
            let g = Double(s.grad[i])
            let m = b1 * Double(s.m[i]) + c1 * g, mScale = abs(b1 * Double(s.m[i])) + abs(c1 * g)
            let v = b2 * Double(s.v[i]) + c2 * g * g
            // The update from the kernel's own moments (checked above), so their rounding does not count twice.
            let (mk, vk) = (Double(result[1][i]), Double(result[2][i]))
            let update = lr * (mk / bc1) / ((vk / bc2).squareRoot() + eps)
            let p = Double(s.param[i]) * (1 - lr * decay) - update
            #expect(abs(Double(result[1][i]) - m) <= 1e-6 * mScale + 1e-30, "m[\(i)]")
            #expect(abs(Double(result[2][i]) - v) <= 1e-6 * v + 1e-30, "v[\(i)]")
            #expect(abs(Double(result[0][i]) - p) <= 1e-6 * (abs(Double(s.param[i])) + abs(update)), "param[\(i)]: \(result[0][i]) vs \(p), start \(s.param[i]) g \(g) m \(mk) v \(vk) update \(update)")
        }
    }
}
