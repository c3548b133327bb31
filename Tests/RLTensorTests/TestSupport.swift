import Foundation
import RLTensor
import Testing

/// The devices the backend tests run on.
///
/// Today this is the CPU only. How CUDA joins: when RLTensor gains its `CUDABackend`, make
/// `cuda` create and register it for each GPU found (e.g. `CUDABackend.availableDevices()`,
/// returning `[]` when no driver or GPU is present). Every `@Test(arguments: TestDevices.all)`
/// then runs on every GPU too, and the CUDA-only tests (enabled by `hasCUDA`) stop being skipped.
enum TestDevices {
    /// CUDA devices with a registered backend (none until the CUDA backend exists).
    static let cuda: [Device] = []
    /// The CPU first, then every CUDA device.
    static let all: [Device] = [.cpu] + cuda
    static var hasCUDA: Bool { !cuda.isEmpty }
}

// MARK: - data

/// Deterministic uniform test data in `[low, high)` that keeps every op well-conditioned.
func sample(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1, device: Device = .cpu) -> Tensor {
    Tensor.randomUniform(shape, low: low, high: high, seed: seed, device: device)
}

/// Values in `±[0.2, 1)`: safe for finite differences of functions with a kink at 0.
func awayFromZero(_ shape: [Int], seed: UInt64, device: Device = .cpu) -> Tensor {
    let u = sample(shape, seed: seed).toFloatArray()
    return Tensor(u.map { ($0 < 0 ? -1 : 1) * (0.2 + 0.8 * abs($0)) }, shape: shape, device: device)
}

/// Distinct values at least 0.1 apart in a seeded order: no ties for max/min, even after a
/// finite-difference step.
func distinctValues(_ shape: [Int], seed: UInt64, device: Device = .cpu) -> Tensor {
    let n = shape.reduce(1, *)
    let keys = sample([n], seed: seed).toFloatArray()
    let order = (0..<n).sorted { keys[$0] < keys[$1] }
    var values = [Float](repeating: 0, count: n)
    for (rank, index) in order.enumerated() { values[index] = Float(rank) * 0.1 - Float(n) * 0.05 }
    return Tensor(values, shape: shape, device: device)
}

/// Seeded host integers in `0..<bound`.
func randomIndices(_ count: Int, below bound: Int, seed: UInt64) -> [Int32] {
    sample([count], seed: seed, low: 0, high: 1).toFloatArray().map { Int32(min(Float(bound - 1), ($0 * Float(bound)).rounded(.down))) }
}

// MARK: - comparisons

/// Expects `|actual - expected| <= atol + rtol * |expected|` elementwise (NaN and infinities
/// must match exactly), reporting the first mismatch.
func expectClose(_ actual: [Float], _ expected: [Float], atol: Float = 1e-5, rtol: Float = 1e-5,
                 _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(what): \(actual.count) elements, expected \(expected.count)",
            sourceLocation: sourceLocation)
    for i in 0..<min(actual.count, expected.count) {
        let a = actual[i], e = expected[i]
        let ok = e.isNaN ? a.isNaN : (e.isInfinite ? a == e : abs(a - e) <= atol + rtol * abs(e))
        if !ok {
            Issue.record("\(what) element \(i): \(a), expected \(e)", sourceLocation: sourceLocation)
            return
        }
    }
}

func expectClose(_ actual: Tensor, _ expected: [Double], shape: [Int], atol: Float = 1e-5, rtol: Float = 1e-5,
                 _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.shape == shape, "\(what): shape \(actual.shape), expected \(shape)", sourceLocation: sourceLocation)
    expectClose(actual.toFloatArray(), expected.map { Float($0) }, atol: atol, rtol: rtol, what, sourceLocation: sourceLocation)
}

// MARK: - gradient checking

/// The outcome of comparing autograd with finite differences: the worst element's error as a
/// multiple of its tolerance (`<= 1` passes).
struct GradientCheckResult {
    var worstRatio: Double = 0
    var input = 0
    var element = 0
    var analytic: Double = 0
    var numeric: Double = 0
}

/// Compares autograd with central finite differences for every element of every input.
///
/// `f` may return any shape: both sides differentiate the projection `L = sum(r * f(x))` with a
/// fixed random cotangent `r`, so an op whose plain sum is constant (softmax) is still checked
/// in every direction. To keep f32 noise down, `L` is accumulated in Double on the host, the
/// step is a power of two (so `x ± h` is exact for |x| < 1), and the derivative uses the
/// fourth-order stencil `(8(L(h) - L(-h)) - (L(2h) - L(-2h))) / 12h`, whose truncation error is
/// O(h^4) instead of O(h^2), allowing a step large enough that rounding in `f` stays small.
func gradientError(_ inputs: [Tensor], step: Float = 1.0 / 64, atol: Double = 1e-3, rtol: Double = 1e-2,
                   _ f: ([Tensor]) -> Tensor) -> GradientCheckResult {
    let probe = withoutGradients { f(inputs) }
    let cotangent = sample(probe.shape, seed: 0xC07A, low: -1, high: 1, device: probe.device)
    let weights = cotangent.toFloatArray().map(Double.init)
    func projected(_ values: [Tensor]) -> Double {
        let out = withoutGradients { f(values) }.toFloatArray()
        return zip(out, weights).reduce(0) { $0 + Double($1.0) * $1.1 }
    }
    let (_, analytic) = valueAndGrad(at: inputs) { (f(inputs) * cotangent).sum() }
    var result = GradientCheckResult()
    let h = Double(step)
    for (index, input) in inputs.enumerated() {
        let base = input.toFloatArray()
        let grad = analytic[index].toFloatArray()
        precondition(grad.count == base.count, "gradient of input \(index) has \(grad.count) elements, expected \(base.count)")
        for i in 0..<base.count {
            func shifted(_ multiple: Float) -> Double {
                var values = base
                values[i] += multiple * step
                var moved = inputs
                moved[index] = Tensor(values, shape: input.shape, device: input.device)
                return projected(moved)
            }
            let numeric = (8 * (shifted(1) - shifted(-1)) - (shifted(2) - shifted(-2))) / (12 * h)
            let ratio = abs(Double(grad[i]) - numeric) / (atol + rtol * abs(numeric))
            if ratio > result.worstRatio || ratio.isNaN {
                result = GradientCheckResult(worstRatio: ratio.isNaN ? .infinity : ratio, input: index, element: i,
                                             analytic: Double(grad[i]), numeric: numeric)
            }
        }
    }
    return result
}

/// Expects autograd to agree with finite differences (see `gradientError`).
func gradientCheck(_ inputs: [Tensor], step: Float = 1.0 / 64, atol: Double = 1e-3, rtol: Double = 1e-2,
                   _ what: String = "", _ f: ([Tensor]) -> Tensor, sourceLocation: SourceLocation = #_sourceLocation) {
    let r = gradientError(inputs, step: step, atol: atol, rtol: rtol, f)
    #expect(r.worstRatio <= 1,
            "\(what): input \(r.input) element \(r.element): analytic \(r.analytic), numeric \(r.numeric) (\(r.worstRatio)x tolerance)",
            sourceLocation: sourceLocation)
}

// MARK: - naive references (Double, row-major host arrays)

enum Naive {
    static func matmul(_ a: [Double], _ b: [Double], m: Int, k: Int, n: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { var s = 0.0; for t in 0..<k { s += a[i * k + t] * b[t * n + j] }; c[i * n + j] = s } }
        return c
    }

    static func transpose(_ a: [Double], rows: Int, cols: Int) -> [Double] {
        var t = [Double](repeating: 0, count: a.count)
        for i in 0..<rows { for j in 0..<cols { t[j * rows + i] = a[i * cols + j] } }
        return t
    }

    static func softmax(_ row: [Double]) -> [Double] {
        let m = row.max() ?? 0
        let e = row.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    static func logSoftmax(_ row: [Double]) -> [Double] {
        let m = row.max() ?? 0
        let lse = m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +))
        return row.map { $0 - lse }
    }

    static func rmsNorm(_ x: [Double], weight: [Double], eps: Double) -> [Double] {
        let cols = weight.count
        var y = x
        for r in 0..<(x.count / cols) {
            let row = x[(r * cols)..<((r + 1) * cols)]
            let inv = 1 / (row.map { $0 * $0 }.reduce(0, +) / Double(cols) + eps).squareRoot()
            for j in 0..<cols { y[r * cols + j] = x[r * cols + j] * inv * weight[j] }
        }
        return y
    }

    /// Rotate-half RoPE of `[batch, tokens, heads, dim]` at `positions[batch, tokens]`.
    static func rope(_ x: [Double], positions: [Int32], tokens: Int, heads: Int, dim: Int, theta: Double) -> [Double] {
        var y = x
        let half = dim / 2
        for (token, position) in positions.enumerated() where token < tokens {
            for h in 0..<heads {
                let base = (token * heads + h) * dim
                for i in 0..<half {
                    let angle = Double(position) * Foundation.pow(theta, -2 * Double(i) / Double(dim))
                    let a = x[base + i], b = x[base + i + half]
                    y[base + i] = a * Foundation.cos(angle) - b * Foundation.sin(angle)
                    y[base + i + half] = b * Foundation.cos(angle) + a * Foundation.sin(angle)
                }
            }
        }
        return y
    }

    /// Causal GQA attention with an optional key mask; queries that see no key give zeros.
    static func attention(q: [Double], k: [Double], v: [Double], batch: Int, queryLength: Int, keyLength: Int,
                          queryHeads: Int, kvHeads: Int, dim: Int, queryOffset: Int, keyMask: [Int32]?, scale: Double) -> [Double] {
        var out = [Double](repeating: 0, count: batch * queryLength * queryHeads * dim)
        let group = queryHeads / kvHeads
        for b in 0..<batch {
            for h in 0..<queryHeads {
                let g = h / group
                for i in 0..<queryLength {
                    let visible = (0..<keyLength).filter { j in
                        j <= queryOffset + i && (keyMask.map { $0[b * keyLength + j] != 0 } ?? true)
                    }
                    if visible.isEmpty { continue }
                    let qBase = ((b * queryLength + i) * queryHeads + h) * dim
                    let scores = visible.map { j -> Double in
                        let kBase = ((b * keyLength + j) * kvHeads + g) * dim
                        return scale * (0..<dim).reduce(0.0) { $0 + q[qBase + $1] * k[kBase + $1] }
                    }
                    let p = softmax(scores)
                    for (pj, j) in zip(p, visible) {
                        let vBase = ((b * keyLength + j) * kvHeads + g) * dim
                        for d in 0..<dim { out[qBase + d] += pj * v[vBase + d] }
                    }
                }
            }
        }
        return out
    }

    static func silu(_ x: Double) -> Double { x / (1 + Foundation.exp(-x)) }
}

extension Tensor {
    /// The elements as Doubles, for the naive references.
    var doubles: [Double] { toFloatArray().map(Double.init) }
}

/// A buffer of `backend` holding `values`' bytes.
func uploaded<Element>(_ values: [Element], to backend: CPUBackend) -> any DeviceBuffer {
    let buffer = backend.allocate(byteCount: values.count * MemoryLayout<Element>.stride)
    values.withUnsafeBytes { backend.upload($0, to: buffer, byteOffset: 0) }
    return buffer
}
