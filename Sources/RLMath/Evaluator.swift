/// The value of a scalar expression: exact when only rational arithmetic was involved.
enum ScalarValue: Sendable {
    case exact(Rational)
    case approximate(Complex)

    var complex: Complex {
        switch self {
        case .exact(let r): return Complex(r.doubleValue)
        case .approximate(let c): return c
        }
    }
}

/// Evaluates scalar expression trees at one sample point, exactly where possible.
///
/// Every exact operation is charged to a work budget; when it runs out, or a result
/// would exceed `Exact` limits, evaluation falls back to doubles or gives up (nil).
struct Evaluator {
    private let point: SamplePoint
    private var budget: Int

    init(point: SamplePoint, budget: Int = 4_000_000) {
        self.point = point
        self.budget = budget
    }

    private static let maximumDepth = 200

    mutating func evaluate(_ node: MathNode) -> ScalarValue? {
        evaluate(node, depth: 0)
    }

    private mutating func charge(_ a: Rational, _ b: Rational) -> Bool {
        budget -= a.cost * b.cost
        return budget > 0
    }

    private mutating func evaluate(_ node: MathNode, depth: Int) -> ScalarValue? {
        if depth > Evaluator.maximumDepth || budget <= 0 { return nil }
        budget -= 1
        switch node {
        case .number(let value):
            return .exact(value)
        case .variable(let name):
            return .approximate(point.value(of: name))
        case .constant(let constant):
            switch constant {
            case .pi: return .approximate(Complex(Double.pi))
            case .e: return .approximate(Complex(2.718281828459045))
            case .imaginaryUnit: return .approximate(.i)
            case .infinity: return nil
            }
        case .sum(let terms):
            var total = ScalarValue.exact(.zero)
            for term in terms {
                guard let value = evaluate(term, depth: depth + 1) else { return nil }
                total = add(total, value)
            }
            return total
        case .product(let factors):
            var total = ScalarValue.exact(.one)
            for factor in factors {
                guard let value = evaluate(factor, depth: depth + 1) else { return nil }
                total = multiply(total, value)
            }
            return total
        case .negation(let inner):
            guard let value = evaluate(inner, depth: depth + 1) else { return nil }
            switch value {
            case .exact(let r): return .exact(-r)
            case .approximate(let c): return .approximate(-c)
            }
        case .quotient(let a, let b):
            guard let x = evaluate(a, depth: depth + 1), let y = evaluate(b, depth: depth + 1) else { return nil }
            if case .exact(let p) = x, case .exact(let q) = y {
                guard !q.isZero, charge(p, q), let r = p.divided(by: q) else { return nil }
                return .exact(r)
            }
            let denominator = y.complex
            // 1 / (a value that overflowed) is not 0: `1/10^{10^{10}}` equalled `0`.
            if denominator.magnitude == 0 || !denominator.isFinite { return nil }
            return .approximate(x.complex / denominator)
        case .power(let a, let b):
            guard let x = evaluate(a, depth: depth + 1), let y = evaluate(b, depth: depth + 1) else { return nil }
            return power(x, y)
        case .function(let function, let arguments):
            return apply(function, arguments, depth: depth)
        case .degrees(let inner), .currency(let inner):
            return evaluate(inner, depth: depth + 1)
        case .percent(let inner):
            guard let value = evaluate(inner, depth: depth + 1) else { return nil }
            return multiply(value, .exact(Rational(numerator: .one, denominator: BigInt(100)) ?? .one))
        case .baseNumeral(let digits, let base):
            var value = BigInt.zero
            for digit in digits.utf8 {
                value = value * BigInt(base) + BigInt(Int(digit) - 48)
            }
            return .exact(Rational(value))
        case .plusMinus, .tuple, .set, .interval, .union, .matrix, .relation, .text, .choice, .list:
            return nil
        }
    }

    private mutating func add(_ x: ScalarValue, _ y: ScalarValue) -> ScalarValue {
        if case .exact(let p) = x, case .exact(let q) = y, charge(p, q) { return .exact(p + q) }
        return .approximate(x.complex + y.complex)
    }

    private mutating func multiply(_ x: ScalarValue, _ y: ScalarValue) -> ScalarValue {
        if case .exact(let p) = x, case .exact(let q) = y, charge(p, q),
           p.numerator.bitWidth + q.numerator.bitWidth <= Exact.maximumBits,
           p.denominator.bitWidth + q.denominator.bitWidth <= Exact.maximumBits {
            return .exact(p * q)
        }
        return .approximate(x.complex * y.complex)
    }

    private mutating func power(_ x: ScalarValue, _ y: ScalarValue) -> ScalarValue? {
        if case .exact(let base) = x, case .exact(let exponent) = y {
            if exponent.isInteger, let e = exponent.numerator.int64Value, e.magnitude <= UInt64(Exact.maximumExponent) {
                let magnitude = Int(e.magnitude)
                if let n = Exact.power(base.numerator, magnitude), let d = Exact.power(base.denominator, magnitude) {
                    budget -= (n.limbCount + d.limbCount + 1) * 8
                    if e >= 0 { return Rational(numerator: n, denominator: d).map { .exact($0) } }
                    if base.isZero { return nil }
                    return Rational(numerator: d, denominator: n).map { .exact($0) }
                }
            }
            if exponent.denominator == BigInt(2), let root = base.exactSquareRoot {
                return power(.exact(root), .exact(Rational(exponent.numerator)))
            }
        }
        let result = x.complex.power(y.complex)
        // An overflowed power is no value: two different huge powers both gave infinity.
        return result.isFinite ? .approximate(result) : nil
    }

    private mutating func apply(_ function: MathFunction, _ arguments: [MathNode], depth: Int) -> ScalarValue? {
        guard let firstNode = arguments.first else { return nil }
        if [.minimum, .maximum, .gcd, .lcm].contains(function) {
            return applyToAll(function, arguments, depth: depth)
        }
        // Trigonometric arguments written in degrees are converted to radians.
        if case .degrees(let inner) = firstNode, [.sin, .cos, .tan, .cot, .sec, .csc].contains(function) {
            guard let degrees = evaluate(inner, depth: depth + 1) else { return nil }
            return applyApproximate(function, degrees.complex * Complex(Double.pi / 180), nil)
        }
        guard let first = evaluate(firstNode, depth: depth + 1) else { return nil }
        let second = arguments.count > 1 ? evaluate(arguments[1], depth: depth + 1) : nil
        if arguments.count > 1 && second == nil { return nil }
        switch function {
        case .root:
            guard let degree = second else { return nil }
            if case .exact(let radicand) = first, case .exact(let d) = degree, d == Rational(2),
               let root = radicand.exactSquareRoot {
                return .exact(root)
            }
            let d = degree.complex
            guard d.isReal, d.real != 0 else { return nil }
            return .approximate(first.complex.root(d.real))
        case .factorial:
            if case .exact(let n) = first, n.isInteger, let k = n.numerator.int64Value {
                guard k >= 0, k <= Exact.maximumFactorial else { return nil }
                // Multiply runs of small factors together first: fewer big multiplications.
                var result = BigInt.one
                var chunk: Int64 = 1
                var factor: Int64 = 2
                while factor <= k {
                    if chunk > Int64(UInt32.max) / factor {
                        budget -= result.limbCount + 1
                        if budget <= 0 { return nil }
                        result = result * BigInt(chunk)
                        chunk = 1
                    }
                    chunk *= factor
                    factor += 1
                }
                return .exact(Rational(result * BigInt(chunk)))
            }
            let z = first.complex
            guard z.isReal else { return nil }
            return .approximate(Complex(RealFunctions.gamma(z.real + 1)))
        case .binomial:
            guard case .exact(let n) = first, case .exact(let k)? = second, n.isInteger, k.isInteger,
                  let nn = n.numerator.int64Value, var kk = k.numerator.int64Value else { return nil }
            if kk < 0 || nn < 0 || kk > nn { return .exact(.zero) }
            kk = min(kk, nn - kk)
            guard kk <= Int64(Exact.maximumFactorial) else { return nil }
            var result = Rational.one
            var index: Int64 = 0
            while index < kk {
                budget -= result.cost * 2
                if budget <= 0 { return nil }
                guard let next = (result * Rational(BigInt(nn - index))).divided(by: Rational(BigInt(index + 1))) else { return nil }
                result = next
                index += 1
            }
            return .exact(result)
        case .absolute:
            if case .exact(let r) = first { return .exact(r.isNegative ? -r : r) }
            return .approximate(Complex(first.complex.magnitude))
        case .floor, .ceiling:
            if case .exact(let r) = first, let (q, rem) = r.numerator.quotientAndRemainder(dividingBy: r.denominator) {
                var result = q
                if !rem.isZero {
                    if function == .floor && r.isNegative { result = result - .one }
                    if function == .ceiling && !r.isNegative { result = result + .one }
                }
                return .exact(Rational(result))
            }
            let z = first.complex
            guard z.isReal else { return nil }
            return .approximate(Complex(function == .floor ? z.real.rounded(.down) : z.real.rounded(.up)))
        default:
            return applyApproximate(function, first.complex, second?.complex)
        }
    }

    /// min, max (on reals) and gcd, lcm (on exact integers) of all arguments.
    private mutating func applyToAll(_ function: MathFunction, _ arguments: [MathNode], depth: Int) -> ScalarValue? {
        var values: [ScalarValue] = []
        for argument in arguments.prefix(64) {
            guard let value = evaluate(argument, depth: depth + 1) else { return nil }
            values.append(value)
        }
        switch function {
        case .gcd, .lcm:
            var result: BigInt?
            for value in values {
                guard case .exact(let r) = value, r.isInteger else { return nil }
                let n = r.numerator.absoluteValue
                guard let current = result else { result = n; continue }
                let divisor = BigInt.gcd(current, n)
                if function == .gcd {
                    result = divisor
                } else {
                    guard !divisor.isZero, let quotient = (current * n).quotientAndRemainder(dividingBy: divisor)?.quotient,
                          quotient.bitWidth <= Exact.maximumBits else { return nil }
                    result = quotient
                }
            }
            return result.map { .exact(Rational($0)) }
        default:
            var best: ScalarValue?
            for value in values {
                guard value.complex.isReal else { return nil }
                guard let current = best else { best = value; continue }
                let isLess = value.complex.real < current.complex.real
                if isLess == (function == .minimum) { best = value }
            }
            return best
        }
    }

    private func applyApproximate(_ function: MathFunction, _ z: Complex, _ w: Complex?) -> ScalarValue? {
        let result: Complex
        switch function {
        case .sin: result = z.sine
        case .cos: result = z.cosine
        case .tan: result = z.sine / z.cosine
        case .cot: result = z.cosine / z.sine
        case .sec: result = Complex(1) / z.cosine
        case .csc: result = Complex(1) / z.sine
        case .arcsin, .arccos, .arctan, .sinh, .cosh, .tanh:
            guard z.isReal else { return nil }
            let x = z.real
            let value: Double?
            switch function {
            case .arcsin: value = RealFunctions.arcsine(x)
            case .arccos: value = RealFunctions.arccosine(x)
            case .arctan: value = RealFunctions.arctangent(x)
            case .sinh: value = RealFunctions.hyperbolicSine(x)
            case .cosh: value = RealFunctions.hyperbolicCosine(x)
            default: value = RealFunctions.hyperbolicTangent(x)
            }
            guard let v = value else { return nil }
            result = Complex(v)
        case .exp: result = z.exp
        case .ln: result = z.log
        case .log:
            // Arguments are (base, value).
            guard let value = w else { return nil }
            result = value.log / z.log
        default:
            return nil
        }
        if !result.isFinite { return nil }
        return .approximate(result)
    }
}
