import Foundation
import RLTensor
import Testing

/// Elementwise ops, broadcasting, selection and reductions against naive loops.
@Suite("Elementwise and reduction forward")
struct ElementwiseForwardTests {
    @Test("unary functions match libm", arguments: TestDevices.all)
    func unaryFunctions(device: Device) {
        let x = sample([3, 7], seed: 11, low: -3, high: 3, device: device)
        let positive = sample([3, 7], seed: 12, low: 0.05, high: 4, device: device)
        let xv = x.doubles, pv = positive.doubles
        let cases: [(String, Tensor, [Double])] = [
            ("exp", x.exp(), xv.map { Foundation.exp($0) }),
            ("log", positive.log(), pv.map { Foundation.log($0) }),
            ("sqrt", positive.sqrt(), pv.map { $0.squareRoot() }),
            ("rsqrt", positive.rsqrt(), pv.map { 1 / $0.squareRoot() }),
            ("sigmoid", x.sigmoid(), xv.map { 1 / (1 + Foundation.exp(-$0)) }),
            ("silu", x.silu(), xv.map(Naive.silu)),
            ("tanh", x.tanh(), xv.map { Foundation.tanh($0) }),
            ("abs", x.abs(), xv.map { Swift.abs($0) }),
            ("square", x.square(), xv.map { $0 * $0 }),
            ("negate", -x, xv.map { -$0 }),
            ("clamped", x.clamped(min: -1, max: 0.5), xv.map { Swift.min(0.5, Swift.max(-1, $0)) }),
            ("pow(2.5)", positive.pow(2.5), pv.map { Foundation.pow($0, 2.5) }),
            ("x + s", x + 1.5, xv.map { $0 + 1.5 }),
            ("s + x", 1.5 + x, xv.map { 1.5 + $0 }),
            ("x - s", x - 1.5, xv.map { $0 - 1.5 }),
            ("s - x", 1.5 - x, xv.map { 1.5 - $0 }),
            ("x * s", x * -2, xv.map { $0 * -2 }),
            ("s * x", -2 * x, xv.map { -2 * $0 }),
            ("x / s", x / 4, xv.map { $0 / 4 }),
            ("s / x", 3 / positive, pv.map { 3 / $0 }),
        ]
        for (name, actual, expected) in cases {
            expectClose(actual, expected, shape: [3, 7], atol: 1e-6, rtol: 2e-6, name)
        }
    }

    @Test("exp saturates to exactly 0 and infinity, like libm", arguments: TestDevices.all)
    func expLimits(device: Device) {
        let x = Tensor([-Float.infinity, -200, -104, 0, 88, 89, 200, Float.infinity], shape: [8], device: device)
        let y = x.exp().toFloatArray()
        #expect(y[0] == 0 && y[1] == 0)
        #expect(y[2] <= Float.leastNonzeroMagnitude)  // e^-104 ≈ 6.8e-46 is below the smallest subnormal
        #expect(y[3] == 1)
        expectClose([y[4]], [Float(Foundation.exp(88.0))], atol: 0, rtol: 1e-6, "exp(88)")
        #expect(y[5] == .infinity && y[6] == .infinity && y[7] == .infinity, "\(y)")
        #expect(Tensor([Float.nan], shape: [1], device: device).exp().item().isNaN)
        // The saturated exp gives exact limits downstream: sigmoid(-100) = 0, sigmoid(100) = 1.
        #expect(Tensor([-100, 100] as [Float], shape: [2], device: device).sigmoid().toFloatArray() == [0, 1])
    }

    @Test("binary ops broadcast like numpy", arguments: TestDevices.all)
    func binaryBroadcasting(device: Device) {
        // [2, 1, 4] op [3, 1] -> [2, 3, 4]
        let a = sample([2, 1, 4], seed: 21, low: 0.5, high: 2, device: device)
        let b = sample([3, 1], seed: 22, low: 0.5, high: 2, device: device)
        let av = a.doubles, bv = b.doubles
        func expected(_ op: (Double, Double) -> Double) -> [Double] {
            var out: [Double] = []
            for i in 0..<2 { for j in 0..<3 { for l in 0..<4 { out.append(op(av[i * 4 + l], bv[j])) } } }
            return out
        }
        let cases: [(String, Tensor, [Double])] = [
            ("+", a + b, expected(+)), ("-", a - b, expected(-)), ("*", a * b, expected(*)), ("/", a / b, expected(/)),
            ("maximum", Tensor.maximum(a, b), expected { Swift.max($0, $1) }),
            ("minimum", Tensor.minimum(a, b), expected { Swift.min($0, $1) }),
            ("pow", Tensor.pow(a, b), expected { Foundation.pow($0, $1) }),
            ("greater", Tensor.greater(a, b), expected { $0 > $1 ? 1 : 0 }),
            ("less", Tensor.less(a, b), expected { $0 < $1 ? 1 : 0 }),
        ]
        for (name, actual, want) in cases { expectClose(actual, want, shape: [2, 3, 4], atol: 1e-6, rtol: 2e-6, name) }
        // equal, with exact ties; a 0-d scalar tensor broadcasts against anything.
        let e = Tensor([1, 2, 3, 2] as [Float], shape: [4], device: device)
        expectClose(Tensor.equal(e, Tensor(scalar: 2, device: device)), [0, 1, 0, 1], shape: [4], "equal")
        expectClose(Tensor(scalar: 10, device: device) - e, [9, 8, 7, 8], shape: [4], "scalar - vector")
        // Strided operands: a transposed view and a size-1 axis on both sides.
        let m = sample([3, 4], seed: 23, device: device), row = sample([1, 3], seed: 24, device: device)
        let mv = m.doubles, rv = row.doubles
        var want: [Double] = []
        for j in 0..<4 { for i in 0..<3 { want.append(mv[i * 4 + j] * rv[i]) } }
        expectClose(m.transposed() * row, want, shape: [4, 3], "transposed * row")
    }

    @Test("select and maskedFill", arguments: TestDevices.all)
    func selection(device: Device) {
        let condition = Tensor([1, 0, 0, 1, 0, 1] as [Float], shape: [2, 3], device: device)
        let a = sample([2, 3], seed: 31, device: device), b = Tensor(scalar: -7, device: device)
        let av = a.doubles, cv = condition.doubles
        expectClose(Tensor.select(condition, a, b), (0..<6).map { cv[$0] != 0 ? av[$0] : -7 }, shape: [2, 3], "select")
        // A [3] mask row broadcast over both rows.
        let mask = Tensor([0, 1, 0] as [Float], shape: [3], device: device)
        expectClose(a.maskedFill(mask, value: -.infinity),
                    (0..<6).map { $0 % 3 == 1 ? -.infinity : av[$0] }, shape: [2, 3], "maskedFill")
    }

    @Test("sum, mean, max, min over every axis, with and without keepDims", arguments: TestDevices.all)
    func reductions(device: Device) {
        let shape = [2, 3, 4]
        let x = sample(shape, seed: 41, device: device)
        let xv = x.doubles
        func index(_ i: [Int]) -> Int { (i[0] * 3 + i[1]) * 4 + i[2] }
        for axis in 0..<3 {
            var outShape = shape
            outShape[axis] = 1
            var sums: [Double] = [], maxes: [Double] = [], mins: [Double] = []
            for i0 in 0..<outShape[0] { for i1 in 0..<outShape[1] { for i2 in 0..<outShape[2] {
                var values: [Double] = []
                for a in 0..<shape[axis] {
                    var i = [i0, i1, i2]
                    i[axis] = a
                    values.append(xv[index(i)])
                }
                sums.append(values.reduce(0, +)); maxes.append(values.max()!); mins.append(values.min()!)
            } } }
            var squeezed = shape
            squeezed.remove(at: axis)
            expectClose(x.sum(axis: axis, keepDims: true), sums, shape: outShape, "sum \(axis)")
            expectClose(x.sum(axis: axis - 3), sums, shape: squeezed, "sum \(axis - 3)")
            expectClose(x.mean(axis: axis), sums.map { $0 / Double(shape[axis]) }, shape: squeezed, "mean \(axis)")
            expectClose(x.max(axis: axis, keepDims: true), maxes, shape: outShape, "max \(axis)")
            expectClose(x.min(axis: axis), mins, shape: squeezed, "min \(axis)")
        }
        expectClose(x.sum(), [xv.reduce(0, +)], shape: [], "sum()")
        expectClose(x.mean(), [xv.reduce(0, +) / 24], shape: [], "mean()")
        // A size-1 reduced axis, and a long full reduction that is split across threads.
        let column = sample([5, 1], seed: 42, device: device)
        expectClose(column.sum(axis: 1), column.doubles, shape: [5], "size-1 axis")
        let long = sample([300_000], seed: 43, device: device)
        expectClose(long.sum(), [long.doubles.reduce(0, +)], shape: [], atol: 2e-3, rtol: 1e-4, "long sum")
        #expect(Swift.abs(long.sumOfSquares() - long.doubles.reduce(0) { $0 + $1 * $1 }) < 1e-6 * 100_000)
    }

    @Test("empty tensors flow through elementwise ops and reductions", arguments: TestDevices.all)
    func emptyTensors(device: Device) {
        let empty = Tensor.zeros([0, 3], device: device)
        #expect((empty + 1).shape == [0, 3])
        #expect((empty * Tensor.ones([1, 3], device: device)).shape == [0, 3])
        expectClose(empty.sum(axis: 0), [0, 0, 0], shape: [3], "sum over an empty axis")
        #expect(empty.sum(axis: 1).shape == [0])
    }
}
