import Testing
@testable import RLMath

@Suite struct BigIntTests {
    @Test func knownValues() {
        // 2^128 and 30! from their definitions, checked against published decimal values.
        var power = BigInt.one
        for _ in 0..<128 { power = power * BigInt(2) }
        #expect(power.description == "340282366920938463463374607431768211456")
        var factorial = BigInt.one
        for k in 1...30 { factorial = factorial * BigInt(k) }
        #expect(factorial.description == "265252859812191058636308480000000")
        #expect(BigInt(decimalDigits: Array("265252859812191058636308480000000".utf8)) == factorial)
        #expect((-factorial).description == "-265252859812191058636308480000000")
    }

    @Test func divisionIdentityHoldsOnRandomOperands() {
        var generator = SplitMix(seed: 7)
        func random(limbs: Int) -> BigInt {
            var value = BigInt.zero
            for _ in 0..<limbs { value = value * BigInt(Int64(1) << 32) + BigInt(Int64(generator.next() >> 32)) }
            return generator.next() % 2 == 0 ? value : -value
        }
        for _ in 0..<300 {
            let n = random(limbs: Int(generator.next() % 9) + 1)
            let d = random(limbs: Int(generator.next() % 5) + 1)
            guard !d.isZero, let (q, r) = n.quotientAndRemainder(dividingBy: d) else { continue }
            #expect(q * d + r == n)
            #expect(r.absoluteValue < d.absoluteValue)
            #expect(r.isZero || r.isNegative == n.isNegative)
        }
    }

    @Test func overflowPromotesInsteadOfTrapping() {
        let big = BigInt(Int64.max) + BigInt(Int64.max)
        #expect(big.description == "18446744073709551614")
        #expect((BigInt(Int64.min) * BigInt(-1)).description == "9223372036854775808")
        #expect((-BigInt(Int64.min)).description == "9223372036854775808")
        #expect(BigInt(Int64.min).quotientAndRemainder(dividingBy: BigInt(-1))?.quotient.description == "9223372036854775808")
        #expect(BigInt.gcd(BigInt(Int64.min), BigInt(6)) == BigInt(2))
    }

    @Test func rationalsReduce() {
        let half = Rational(numerator: BigInt(-6), denominator: BigInt(-12))
        #expect(half == Rational(numerator: .one, denominator: BigInt(2)))
        #expect(Rational(numerator: .one, denominator: .zero) == nil)
    }
}
