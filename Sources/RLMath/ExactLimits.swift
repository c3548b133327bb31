/// Bounds that keep exact arithmetic (and so every verification) within a few milliseconds.
enum Exact {
    /// Largest power of ten written in e-notation or `\times 10^{n}` that is kept exact.
    static let maximumDecimalExponent = 2_000
    /// Largest integer exponent applied exactly; beyond it evaluation becomes approximate.
    static let maximumExponent = 20_000
    /// Largest result size, in bits, of an exact power, product or factorial.
    static let maximumBits = 40_000
    /// Largest `n` for which `n!` is computed exactly.
    static let maximumFactorial = 3_000

    /// 10^exponent for 0 ≤ exponent ≤ `maximumDecimalExponent` (larger values are clamped).
    static func powerOfTen(_ exponent: Int) -> BigInt {
        power(BigInt(10), min(max(exponent, 0), maximumDecimalExponent)) ?? .one
    }

    /// base^exponent by squaring, or nil when the result would exceed `maximumBits`.
    static func power(_ base: BigInt, _ exponent: Int) -> BigInt? {
        if exponent < 0 { return nil }
        if base.isZero { return exponent == 0 ? .one : .zero }
        let absBase = base.absoluteValue
        if absBase == .one { return (base.isNegative && exponent % 2 == 1) ? base : .one }
        if exponent > maximumExponent { return nil }
        let (bits, overflow) = (absBase.bitWidth - 1).multipliedReportingOverflow(by: exponent)
        if overflow || bits > maximumBits { return nil }
        var result = BigInt.one
        var square = base
        var e = exponent
        while e > 0 {
            if e & 1 == 1 { result = result * square }
            e >>= 1
            if e > 0 { square = square * square }
        }
        return result
    }
}
