/// An exact rational number in lowest terms with a positive denominator.
struct Rational: Sendable, Hashable, CustomStringConvertible {
    let numerator: BigInt
    let denominator: BigInt

    init(_ value: Int) {
        numerator = BigInt(value)
        denominator = .one
    }

    init(_ value: BigInt) {
        numerator = value
        denominator = .one
    }

    /// Builds `numerator / denominator` in lowest terms; nil when the denominator is zero.
    init?(numerator: BigInt, denominator: BigInt) {
        if denominator.isZero { return nil }
        var n = numerator, d = denominator
        if d.isNegative {
            n = -n
            d = -d
        }
        let divisor = BigInt.gcd(n, d)
        if !divisor.isZero && divisor != .one {
            n = n.quotientAndRemainder(dividingBy: divisor)?.quotient ?? n
            d = d.quotientAndRemainder(dividingBy: divisor)?.quotient ?? d
        }
        self.numerator = n
        self.denominator = d
    }

    static let zero = Rational(0)
    static let one = Rational(1)

    var isZero: Bool { numerator.isZero }
    var isNegative: Bool { numerator.isNegative }
    var isInteger: Bool { denominator == .one }

    /// Size of the operands in limbs, used to charge the work budget.
    var cost: Int { numerator.limbCount + denominator.limbCount + 1 }

    var doubleValue: Double {
        let n = numerator.doubleValue, d = denominator.doubleValue
        if n.isFinite && d.isFinite { return n / d }
        // Scale both down so huge numerators/denominators still give a usable ratio.
        let shift = max(numerator.bitWidth, denominator.bitWidth) - 1000
        return scaledDouble(numerator, shift) / scaledDouble(denominator, shift)
    }

    private func scaledDouble(_ value: BigInt, _ shift: Int) -> Double {
        let width = value.bitWidth
        if width <= shift { return 0 }
        // Keep the top 64 bits and scale by the dropped power of two.
        var reduced = value
        let drop = max(0, width - 64)
        if drop > 0, let q = value.quotientAndRemainder(dividingBy: Rational.powerOfTwo(drop))?.quotient { reduced = q }
        var result = reduced.doubleValue
        var exponent = drop - shift
        while exponent > 0 { let step = min(exponent, 1000); result *= Double(sign: .plus, exponent: step, significand: 1); exponent -= step }
        while exponent < 0 { let step = min(-exponent, 1000); result /= Double(sign: .plus, exponent: step, significand: 1); exponent += step }
        return result
    }

    private static func powerOfTwo(_ exponent: Int) -> BigInt {
        var result = BigInt.one
        var base = BigInt(2)
        var e = exponent
        while e > 0 {
            if e & 1 == 1 { result = result * base }
            e >>= 1
            if e > 0 { base = base * base }
        }
        return result
    }

    var description: String {
        denominator == .one ? numerator.description : "\(numerator)/\(denominator)"
    }

    static prefix func - (value: Rational) -> Rational {
        Rational(unchecked: -value.numerator, value.denominator)
    }

    private init(unchecked numerator: BigInt, _ denominator: BigInt) {
        self.numerator = numerator
        self.denominator = denominator
    }

    static func + (lhs: Rational, rhs: Rational) -> Rational {
        if lhs.denominator == rhs.denominator {
            return Rational(numerator: lhs.numerator + rhs.numerator, denominator: lhs.denominator) ?? .zero
        }
        return Rational(numerator: lhs.numerator * rhs.denominator + rhs.numerator * lhs.denominator,
                        denominator: lhs.denominator * rhs.denominator) ?? .zero
    }

    static func - (lhs: Rational, rhs: Rational) -> Rational { lhs + (-rhs) }

    static func < (lhs: Rational, rhs: Rational) -> Bool { (lhs - rhs).isNegative }

    static func * (lhs: Rational, rhs: Rational) -> Rational {
        if lhs.isInteger && rhs.isInteger { return Rational(lhs.numerator * rhs.numerator) }
        return Rational(numerator: lhs.numerator * rhs.numerator, denominator: lhs.denominator * rhs.denominator) ?? .zero
    }

    /// Division; nil when dividing by zero.
    func divided(by other: Rational) -> Rational? {
        Rational(numerator: numerator * other.denominator, denominator: denominator * other.numerator)
    }

    /// The exact square root when numerator and denominator are perfect squares.
    var exactSquareRoot: Rational? {
        if isNegative { return nil }
        guard let n = BigInt.integerSquareRoot(numerator), let d = BigInt.integerSquareRoot(denominator) else { return nil }
        return Rational(numerator: n, denominator: d)
    }
}

extension BigInt {
    /// The exact square root of a perfect square that fits in 64 bits, else nil.
    static func integerSquareRoot(_ value: BigInt) -> BigInt? {
        guard let v = value.int64Value, v >= 0 else { return nil }
        var root = Int64(Double(v).squareRoot())
        while root > 0 && root.multipliedReportingOverflow(by: root).overflow { root -= 1 }
        while root * root > v { root -= 1 }
        while (root + 1).multipliedReportingOverflow(by: root + 1).partialValue <= v
                && !(root + 1).multipliedReportingOverflow(by: root + 1).overflow { root += 1 }
        return root * root == v ? BigInt(root) : nil
    }
}
