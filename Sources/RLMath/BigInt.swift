/// A signed arbitrary-precision integer.
///
/// Values that fit in `Int64` are stored inline (no allocation); larger values use
/// base-2^32 limbs, least significant first. Callers bound the sizes they create
/// (see `ExactLimits`), so every operation here is plain schoolbook arithmetic.
struct BigInt: Sendable, Hashable, CustomStringConvertible {
    /// The value when `limbs` is empty.
    private var small: Int64
    /// Magnitude limbs when the value does not fit in `Int64`; never has leading zero limbs.
    private var limbs: [UInt32]
    /// Sign of a large value (ignored when `limbs` is empty).
    private var negative: Bool

    init(_ value: Int64) {
        small = value
        limbs = []
        negative = false
    }

    init(_ value: Int) { self.init(Int64(value)) }

    private init(negative: Bool, magnitude: [UInt32]) {
        var mag = magnitude
        while let last = mag.last, last == 0 { mag.removeLast() }
        self.small = 0
        self.limbs = []
        self.negative = false
        if mag.count <= 2 {
            let raw = UInt64(mag.first ?? 0) | (mag.count > 1 ? UInt64(mag[1]) << 32 : 0)
            if !negative && raw <= UInt64(Int64.max) {
                small = Int64(raw)
                return
            }
            if negative && raw <= UInt64(Int64.max) + 1 {
                small = raw == UInt64(Int64.max) + 1 ? Int64.min : -Int64(raw)
                return
            }
        }
        self.limbs = mag
        self.negative = negative
    }

    static let zero = BigInt(0)
    static let one = BigInt(1)

    var isZero: Bool { limbs.isEmpty && small == 0 }
    var isNegative: Bool { limbs.isEmpty ? small < 0 : negative }
    /// The value as `Int64` when it fits.
    var int64Value: Int64? { limbs.isEmpty ? small : nil }

    /// Number of 32-bit limbs of the magnitude (a size measure for work budgets).
    var limbCount: Int { limbs.isEmpty ? (small == 0 ? 0 : (small.magnitude >> 32 == 0 ? 1 : 2)) : limbs.count }

    /// Approximate number of bits of the magnitude.
    var bitWidth: Int {
        if limbs.isEmpty { return 64 - small.magnitude.leadingZeroBitCount }
        return limbs.count * 32 - (limbs.last ?? 1).leadingZeroBitCount
    }

    private var magnitude: [UInt32] {
        if !limbs.isEmpty { return limbs }
        let m = small.magnitude
        if m == 0 { return [] }
        if m >> 32 == 0 { return [UInt32(truncatingIfNeeded: m)] }
        return [UInt32(truncatingIfNeeded: m), UInt32(truncatingIfNeeded: m >> 32)]
    }

    // MARK: Parsing and printing

    /// Parses a run of ASCII decimal digits (no sign). Returns nil on any other byte.
    init?<C: Collection>(decimalDigits digits: C) where C.Element == UInt8 {
        if digits.isEmpty { return nil }
        var result = BigInt.zero
        var chunk: Int64 = 0
        var chunkLength = 0
        for byte in digits {
            guard byte >= 48 && byte <= 57 else { return nil }
            chunk = chunk * 10 + Int64(byte - 48)
            chunkLength += 1
            if chunkLength == 18 {
                result = result.multipliedBySmall(1_000_000_000_000_000_000).addingSmall(chunk)
                chunk = 0
                chunkLength = 0
            }
        }
        if chunkLength > 0 {
            var scale: Int64 = 1
            for _ in 0..<chunkLength { scale *= 10 }
            result = result.multipliedBySmall(scale).addingSmall(chunk)
        }
        self = result
    }

    var description: String {
        if limbs.isEmpty { return String(small) }
        var parts: [UInt32] = []
        var mag = limbs
        while !mag.isEmpty {
            let remainder = BigInt.divideMagnitude(&mag, by: 1_000_000_000)
            parts.append(remainder)
        }
        var text = negative ? "-" : ""
        text += String(parts.last ?? 0)
        for part in parts.dropLast().reversed() {
            let digits = String(part)
            text += String(repeating: "0", count: 9 - digits.count) + digits
        }
        return text
    }

    /// Nearest `Double` (infinite when out of range).
    var doubleValue: Double {
        if limbs.isEmpty { return Double(small) }
        var result = 0.0
        for limb in limbs.reversed() { result = result * 4_294_967_296.0 + Double(limb) }
        return negative ? -result : result
    }

    // MARK: Small helpers

    private func multipliedBySmall(_ factor: Int64) -> BigInt { self * BigInt(factor) }
    private func addingSmall(_ term: Int64) -> BigInt { self + BigInt(term) }

    /// Divides a magnitude in place by a single limb and returns the remainder.
    private static func divideMagnitude(_ mag: inout [UInt32], by divisor: UInt32) -> UInt32 {
        var remainder: UInt64 = 0
        for index in stride(from: mag.count - 1, through: 0, by: -1) {
            let current = (remainder << 32) | UInt64(mag[index])
            mag[index] = UInt32(truncatingIfNeeded: current / UInt64(divisor))
            remainder = current % UInt64(divisor)
        }
        while let last = mag.last, last == 0 { mag.removeLast() }
        return UInt32(truncatingIfNeeded: remainder)
    }

    // MARK: Magnitude arithmetic

    private static func compareMagnitudes(_ a: [UInt32], _ b: [UInt32]) -> Int {
        if a.count != b.count { return a.count < b.count ? -1 : 1 }
        var index = a.count - 1
        while index >= 0 {
            if a[index] != b[index] { return a[index] < b[index] ? -1 : 1 }
            index -= 1
        }
        return 0
    }

    private static func addMagnitudes(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        let (long, short) = a.count >= b.count ? (a, b) : (b, a)
        var result = [UInt32]()
        result.reserveCapacity(long.count + 1)
        var carry: UInt64 = 0
        for index in 0..<long.count {
            let sum = UInt64(long[index]) + (index < short.count ? UInt64(short[index]) : 0) + carry
            result.append(UInt32(truncatingIfNeeded: sum))
            carry = sum >> 32
        }
        if carry > 0 { result.append(UInt32(carry)) }
        return result
    }

    /// a - b where |a| >= |b|.
    private static func subtractMagnitudes(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        var result = [UInt32]()
        result.reserveCapacity(a.count)
        var borrow: Int64 = 0
        for index in 0..<a.count {
            var difference = Int64(a[index]) - (index < b.count ? Int64(b[index]) : 0) - borrow
            if difference < 0 {
                difference += 4_294_967_296
                borrow = 1
            } else {
                borrow = 0
            }
            result.append(UInt32(truncatingIfNeeded: difference))
        }
        while let last = result.last, last == 0 { result.removeLast() }
        return result
    }

    private static func multiplyMagnitudes(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        if a.isEmpty || b.isEmpty { return [] }
        var result = [UInt32](repeating: 0, count: a.count + b.count)
        for i in 0..<a.count {
            var carry: UInt64 = 0
            let ai = UInt64(a[i])
            if ai == 0 { continue }
            for j in 0..<b.count {
                let product = ai * UInt64(b[j]) + UInt64(result[i + j]) + carry
                result[i + j] = UInt32(truncatingIfNeeded: product)
                carry = product >> 32
            }
            var k = i + b.count
            while carry > 0 {
                let sum = UInt64(result[k]) + carry
                result[k] = UInt32(truncatingIfNeeded: sum)
                carry = sum >> 32
                k += 1
            }
        }
        return result
    }

    /// Long division of magnitudes (Knuth, Algorithm D). `divisor` must be non-empty.
    private static func divideMagnitudes(_ dividend: [UInt32], _ divisor: [UInt32]) -> (quotient: [UInt32], remainder: [UInt32]) {
        if compareMagnitudes(dividend, divisor) < 0 { return ([], dividend) }
        if divisor.count == 1 {
            var quotient = dividend
            let remainder = divideMagnitude(&quotient, by: divisor[0])
            return (quotient, remainder == 0 ? [] : [remainder])
        }
        let shift = UInt32((divisor.last ?? 1).leadingZeroBitCount)
        let v = shiftLeft(divisor, by: shift)
        var u = shiftLeft(dividend, by: shift)
        if u.count == dividend.count { u.append(0) }
        let n = v.count
        let m = u.count - n
        var quotient = [UInt32](repeating: 0, count: m)
        let base: UInt64 = 1 << 32
        let vTop = UInt64(v[n - 1])
        let vNext = UInt64(v[n - 2])
        var j = m - 1
        while j >= 0 {
            let numerator = (UInt64(u[j + n]) << 32) | UInt64(u[j + n - 1])
            var qHat = numerator / vTop
            var rHat = numerator % vTop
            while qHat >= base || qHat * vNext > ((rHat << 32) | UInt64(u[j + n - 2])) {
                qHat -= 1
                rHat += vTop
                if rHat >= base { break }
            }
            var borrow: Int64 = 0
            var carry: UInt64 = 0
            for i in 0..<n {
                let product = qHat * UInt64(v[i]) + carry
                carry = product >> 32
                let difference = Int64(u[i + j]) - Int64(product & 0xFFFF_FFFF) - borrow
                u[i + j] = UInt32(truncatingIfNeeded: difference)
                borrow = difference < 0 ? 1 : 0
            }
            let top = Int64(u[j + n]) - Int64(carry) - borrow
            u[j + n] = UInt32(truncatingIfNeeded: top)
            if top < 0 {
                qHat -= 1
                var addCarry: UInt64 = 0
                for i in 0..<n {
                    let sum = UInt64(u[i + j]) + UInt64(v[i]) + addCarry
                    u[i + j] = UInt32(truncatingIfNeeded: sum)
                    addCarry = sum >> 32
                }
                u[j + n] = UInt32(truncatingIfNeeded: UInt64(u[j + n]) + addCarry)
            }
            quotient[j] = UInt32(truncatingIfNeeded: qHat)
            j -= 1
        }
        while let last = quotient.last, last == 0 { quotient.removeLast() }
        var remainder = shiftRight(Array(u[0..<n]), by: shift)
        while let last = remainder.last, last == 0 { remainder.removeLast() }
        return (quotient, remainder)
    }

    private static func shiftLeft(_ mag: [UInt32], by shift: UInt32) -> [UInt32] {
        if shift == 0 { return mag }
        var result = [UInt32]()
        result.reserveCapacity(mag.count + 1)
        var carry: UInt32 = 0
        for limb in mag {
            result.append((limb << shift) | carry)
            carry = limb >> (32 - shift)
        }
        if carry != 0 { result.append(carry) }
        return result
    }

    private static func shiftRight(_ mag: [UInt32], by shift: UInt32) -> [UInt32] {
        if shift == 0 { return mag }
        var result = mag
        for index in 0..<mag.count {
            let high = index + 1 < mag.count ? mag[index + 1] << (32 - shift) : 0
            result[index] = (mag[index] >> shift) | high
        }
        return result
    }

    // MARK: Signed arithmetic

    static prefix func - (value: BigInt) -> BigInt {
        if value.limbs.isEmpty {
            if value.small != Int64.min { return BigInt(-value.small) }
        }
        return BigInt(negative: !value.isNegative, magnitude: value.magnitude)
    }

    static func + (lhs: BigInt, rhs: BigInt) -> BigInt {
        if lhs.limbs.isEmpty && rhs.limbs.isEmpty {
            let (sum, overflow) = lhs.small.addingReportingOverflow(rhs.small)
            if !overflow { return BigInt(sum) }
        }
        let a = lhs.magnitude, b = rhs.magnitude
        if lhs.isNegative == rhs.isNegative {
            return BigInt(negative: lhs.isNegative, magnitude: addMagnitudes(a, b))
        }
        let order = compareMagnitudes(a, b)
        if order == 0 { return .zero }
        if order > 0 { return BigInt(negative: lhs.isNegative, magnitude: subtractMagnitudes(a, b)) }
        return BigInt(negative: rhs.isNegative, magnitude: subtractMagnitudes(b, a))
    }

    static func - (lhs: BigInt, rhs: BigInt) -> BigInt { lhs + (-rhs) }

    static func * (lhs: BigInt, rhs: BigInt) -> BigInt {
        if lhs.limbs.isEmpty && rhs.limbs.isEmpty {
            let (product, overflow) = lhs.small.multipliedReportingOverflow(by: rhs.small)
            if !overflow { return BigInt(product) }
        }
        return BigInt(negative: lhs.isNegative != rhs.isNegative,
                      magnitude: multiplyMagnitudes(lhs.magnitude, rhs.magnitude))
    }

    /// Truncating division; nil when dividing by zero.
    func quotientAndRemainder(dividingBy divisor: BigInt) -> (quotient: BigInt, remainder: BigInt)? {
        if divisor.isZero { return nil }
        if limbs.isEmpty && divisor.limbs.isEmpty && !(small == Int64.min && divisor.small == -1) {
            return (BigInt(small / divisor.small), BigInt(small % divisor.small))
        }
        let (q, r) = BigInt.divideMagnitudes(magnitude, divisor.magnitude)
        return (BigInt(negative: isNegative != divisor.isNegative, magnitude: q),
                BigInt(negative: isNegative, magnitude: r))
    }

    static func < (lhs: BigInt, rhs: BigInt) -> Bool { (lhs - rhs).isNegative }

    var absoluteValue: BigInt { isNegative ? -self : self }

    /// Greatest common divisor (non-negative) by Euclid's algorithm.
    static func gcd(_ a: BigInt, _ b: BigInt) -> BigInt {
        var x = a.absoluteValue, y = b.absoluteValue
        while !y.isZero {
            if let sx = x.int64Value, let sy = y.int64Value {
                var p = sx, q = sy
                while q != 0 { (p, q) = (q, p % q) }
                return BigInt(p)
            }
            guard let r = x.quotientAndRemainder(dividingBy: y)?.remainder else { break }
            (x, y) = (y, r)
        }
        return x
    }
}
