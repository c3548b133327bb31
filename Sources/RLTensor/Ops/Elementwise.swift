/// The broadcast shape of two shapes (numpy rules), or a precondition failure naming both.
func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
    let rank = Swift.max(a.count, b.count)
    var result = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        precondition(x == y || x == 1 || y == 1, "shapes \(a) and \(b) do not broadcast")
        result[i] = x == 1 ? y : x  // not max: a size-0 axis broadcast against size 1 stays empty
    }
    return result
}

extension Tensor {
    /// Strides that read this tensor as if expanded to `target` (0 on broadcast axes).
    func broadcastRef(to target: [Int]) -> StridedRef {
        let lead = target.count - rank
        var s = [Int](repeating: 0, count: target.count)
        for i in 0..<rank where shape[i] == target[lead + i] { s[lead + i] = strides[i] }
        return StridedRef(storage.buffer, offset: offset, strides: s)
    }

    func requireFloat32(_ op: String) {
        precondition(dtype == .f32, "\(op) needs f32 tensors, got \(dtype) (cast first)")
    }

    static func checkSameDevice(_ a: Tensor, _ b: Tensor, _ op: String) {
        precondition(a.device == b.device, "\(op): tensors on \(a.device) and \(b.device)")
    }

    /// Applies a two-input elementwise op with broadcasting (no gradient); f32 operands, or bf16
    /// activations (`activationType`) giving a bf16 result.
    static func rawBinary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) -> Tensor {
        let dtype = activationType("\(op)", [a, b])
        checkSameDevice(a, b, "\(op)")
        let shape = broadcastShape(a.shape, b.shape)
        let out = Tensor(uninitialized: shape, dtype: dtype, device: a.device)
        a.backend.binary(op, a.broadcastRef(to: shape), b.broadcastRef(to: shape), out.ref, shape: shape, dtype: dtype)
        return out
    }

    func rawUnary(_ op: UnaryOp) -> Tensor {
        requireFloat32("\(op)")
        let x = contiguous()
        let out = Tensor(uninitialized: shape, dtype: .f32, device: device)
        backend.unary(op, x.ref, out.ref, count: count)
        return out
    }

    // MARK: binary ops with gradients

    public static func + (a: Tensor, b: Tensor) -> Tensor {
        rawBinary(.add, a, b).recorded([a, b]) { [aShape = a.shape, bShape = b.shape] g in [g.sumToShape(aShape), g.sumToShape(bShape)] }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        rawBinary(.sub, a, b).recorded([a, b]) { [aShape = a.shape, bShape = b.shape] g in [g.sumToShape(aShape), (-g).sumToShape(bShape)] }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        rawBinary(.mul, a, b).recorded([a, b]) { g, wanted in
            [wanted[0] ? (g * b).sumToShape(a.shape) : nil, wanted[1] ? (g * a).sumToShape(b.shape) : nil]
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        rawBinary(.div, a, b).recorded([a, b]) { g in
            [(g / b).sumToShape(a.shape), (-(g * a) / (b * b)).sumToShape(b.shape)]
        }
    }

    /// Elementwise maximum; on ties the gradient goes to `a`.
    public static func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
        rawBinary(.maximum, a, b).recorded([a, b]) { g in
            let bWins = rawBinary(.less, a, b)
            return [(g * (1 - bWins)).sumToShape(a.shape), (g * bWins).sumToShape(b.shape)]
        }
    }

    /// Elementwise minimum; on ties the gradient goes to `a`.
    public static func minimum(_ a: Tensor, _ b: Tensor) -> Tensor {
        rawBinary(.minimum, a, b).recorded([a, b]) { g in
            let bWins = rawBinary(.greater, a, b)
            return [(g * (1 - bWins)).sumToShape(a.shape), (g * bWins).sumToShape(b.shape)]
        }
    }

    /// `a ^ b` elementwise.
    public static func pow(_ a: Tensor, _ b: Tensor) -> Tensor {
        let y = rawBinary(.pow, a, b)
        return y.recorded([a, b]) { g in
            [(g * b * pow(a, b - 1)).sumToShape(a.shape), (g * y * a.log()).sumToShape(b.shape)]
        }
    }

    /// 1 where `a == b`, else 0 (no gradient).
    public static func equal(_ a: Tensor, _ b: Tensor) -> Tensor { rawBinary(.equal, a, b) }
    /// 1 where `a > b`, else 0 (no gradient).
    public static func greater(_ a: Tensor, _ b: Tensor) -> Tensor { rawBinary(.greater, a, b) }
    /// 1 where `a < b`, else 0 (no gradient).
    public static func less(_ a: Tensor, _ b: Tensor) -> Tensor { rawBinary(.less, a, b) }

    // MARK: scalar forms

    public static func + (a: Tensor, s: Float) -> Tensor { a.rawUnary(.addScalar(s)).recorded([a]) { [$0] } }
    public static func + (s: Float, a: Tensor) -> Tensor { a + s }
    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
    public static func - (s: Float, a: Tensor) -> Tensor { a.rawUnary(.rsubScalar(s)).recorded([a]) { [-$0] } }
    public static func * (a: Tensor, s: Float) -> Tensor { a.rawUnary(.mulScalar(s)).recorded([a]) { [$0 * s] } }
    public static func * (s: Float, a: Tensor) -> Tensor { a * s }
    public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }
    public static func / (s: Float, a: Tensor) -> Tensor {
        a.rawUnary(.rdivScalar(s)).recorded([a]) { g in [g * (-s) / (a * a)] }
    }
    public static prefix func - (a: Tensor) -> Tensor { a.rawUnary(.neg).recorded([a]) { [-$0] } }

    /// `self ^ p` elementwise.
    public func pow(_ p: Float) -> Tensor {
        rawUnary(.powScalar(p)).recorded([self]) { g in [g * p * self.pow(p - 1)] }
    }

    // MARK: unary functions

    public func exp() -> Tensor {
        let y = rawUnary(.exp)
        return y.recorded([self]) { [$0 * y] }
    }

    public func log() -> Tensor { rawUnary(.log).recorded([self]) { [$0 / self] } }

    public func sqrt() -> Tensor {
        let y = rawUnary(.sqrt)
        return y.recorded([self]) { [$0 * 0.5 / y] }
    }

    public func rsqrt() -> Tensor {
        let y = rawUnary(.rsqrt)
        return y.recorded([self]) { [$0 * -0.5 * y * y * y] }
    }

    public func sigmoid() -> Tensor {
        let y = rawUnary(.sigmoid)
        return y.recorded([self]) { [$0 * y * (1 - y)] }
    }

    /// `x * sigmoid(x)`.
    public func silu() -> Tensor {
        rawUnary(.silu).recorded([self]) { g in
            let s = self.rawUnary(.sigmoid)
            return [g * s * (1 + self * (1 - s))]
        }
    }

    public func tanh() -> Tensor {
        let y = rawUnary(.tanh)
        return y.recorded([self]) { [$0 * (1 - y * y)] }
    }

    public func abs() -> Tensor {
        rawUnary(.abs).recorded([self]) { g in
            [g * (Tensor.rawBinary(.greater, self, Tensor(scalar: 0, device: self.device))
                  - Tensor.rawBinary(.less, self, Tensor(scalar: 0, device: self.device)))]
        }
    }

    public func square() -> Tensor { rawUnary(.square).recorded([self]) { [$0 * self * 2] } }

    /// Clamps to `[low, high]`; the gradient is zero outside.
    public func clamped(min low: Float, max high: Float) -> Tensor {
        rawUnary(.clamp(min: low, max: high)).recorded([self]) { g in
            let inside = Tensor.rawBinary(.equal, self, self.rawUnary(.clamp(min: low, max: high)))
            return [g * inside]
        }
    }

    /// `condition != 0 ? a : b` with broadcasting; `condition` is an f32 mask (no gradient).
    public static func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        condition.requireFloat32("select condition"); a.requireFloat32("select"); b.requireFloat32("select")
        let shape = broadcastShape(condition.shape, broadcastShape(a.shape, b.shape))
        let out = Tensor(uninitialized: shape, dtype: .f32, device: a.device)
        a.backend.select(condition.broadcastRef(to: shape), a.broadcastRef(to: shape), b.broadcastRef(to: shape), out.ref, shape: shape)
        return out.recorded([a, b]) { [aShape = a.shape, bShape = b.shape] g in
            let zero = Tensor(scalar: 0, device: g.device)
            return [select(condition, g, zero).sumToShape(aShape), select(condition, zero, g).sumToShape(bShape)]
        }
    }

    /// Replaces elements where `mask != 0` with `value`.
    public func maskedFill(_ mask: Tensor, value: Float) -> Tensor {
        Tensor.select(mask, Tensor(scalar: value, device: device), self)
    }
}
