#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A complex number in double precision, used for approximate evaluation.
struct Complex: Sendable, Hashable {
    var real: Double
    var imaginary: Double

    init(_ real: Double, _ imaginary: Double = 0) {
        self.real = real
        self.imaginary = imaginary
    }

    static let i = Complex(0, 1)

    var magnitude: Double { hypot(real, imaginary) }
    var isFinite: Bool { real.isFinite && imaginary.isFinite }
    /// True when the imaginary part is negligible next to the real part.
    var isReal: Bool { Swift.abs(imaginary) <= 1e-12 * Swift.max(1, Swift.abs(real)) }

    static func + (a: Complex, b: Complex) -> Complex { Complex(a.real + b.real, a.imaginary + b.imaginary) }
    static func - (a: Complex, b: Complex) -> Complex { Complex(a.real - b.real, a.imaginary - b.imaginary) }
    static prefix func - (a: Complex) -> Complex { Complex(-a.real, -a.imaginary) }
    static func * (a: Complex, b: Complex) -> Complex {
        Complex(a.real * b.real - a.imaginary * b.imaginary, a.real * b.imaginary + a.imaginary * b.real)
    }
    static func / (a: Complex, b: Complex) -> Complex {
        if b.imaginary == 0 { return Complex(a.real / b.real, a.imaginary / b.real) }
        let d = b.real * b.real + b.imaginary * b.imaginary
        return Complex((a.real * b.real + a.imaginary * b.imaginary) / d, (a.imaginary * b.real - a.real * b.imaginary) / d)
    }

    var exp: Complex {
        let scale = realExp(real)
        if imaginary == 0 { return Complex(scale) }
        return Complex(scale * cos(imaginary), scale * sin(imaginary))
    }

    /// Principal logarithm.
    var log: Complex {
        if imaginary == 0 && real > 0 { return Complex(realLog(real)) }
        return Complex(realLog(magnitude), atan2(imaginary, real))
    }

    /// Principal square root.
    var squareRoot: Complex {
        if imaginary == 0 {
            return real >= 0 ? Complex(real.squareRoot()) : Complex(0, (-real).squareRoot())
        }
        let m = magnitude
        let re = ((m + real) / 2).squareRoot()
        let im = ((m - real) / 2).squareRoot()
        return Complex(re, imaginary < 0 ? -im : im)
    }

    /// Principal power `self ^ exponent`.
    func power(_ exponent: Complex) -> Complex {
        if exponent.imaginary == 0 && imaginary == 0 {
            if real >= 0 { return Complex(pow(real, exponent.real)) }
            let e = exponent.real
            if e == e.rounded() { return Complex(pow(real, e)) }
        }
        if real == 0 && imaginary == 0 {
            return exponent.real > 0 ? Complex(0) : Complex(.infinity)
        }
        return (exponent * log).exp
    }

    /// Real root of odd degree for negative reals (`\sqrt[3]{-8} = -2`), principal root otherwise.
    func root(_ degree: Double) -> Complex {
        if imaginary == 0 && real < 0 && degree == degree.rounded() && Swift.abs(degree) < 1e15
            && Int64(degree) % 2 != 0 {
            return Complex(-pow(-real, 1 / degree))
        }
        return power(Complex(1 / degree))
    }

    var sine: Complex {
        if imaginary == 0 { return Complex(sin(real)) }
        return Complex(sin(real) * cosh(imaginary), cos(real) * sinh(imaginary))
    }

    var cosine: Complex {
        if imaginary == 0 { return Complex(cos(real)) }
        return Complex(cos(real) * cosh(imaginary), -sin(real) * sinh(imaginary))
    }
}

/// Real `exp` and `log` from the C library, named so they do not clash with `Complex` members.
private func realExp(_ x: Double) -> Double { exp(x) }
private func realLog(_ x: Double) -> Double { log(x) }

/// Real inverse trigonometric and hyperbolic functions; nil outside their real domain.
enum RealFunctions {
    static func arcsine(_ x: Double) -> Double? { x >= -1 && x <= 1 ? asin(x) : nil }
    static func arccosine(_ x: Double) -> Double? { x >= -1 && x <= 1 ? acos(x) : nil }
    static func arctangent(_ x: Double) -> Double { atan(x) }
    static func hyperbolicSine(_ x: Double) -> Double { sinh(x) }
    static func hyperbolicCosine(_ x: Double) -> Double { cosh(x) }
    static func hyperbolicTangent(_ x: Double) -> Double { tanh(x) }
    static func gamma(_ x: Double) -> Double { tgamma(x) }
}
