import RLTensor
import Testing

/// bf16 and f16 conversions on hand-picked bit patterns. Each expected value is derived in the
/// comment beside it: bf16 keeps the top 16 bits of an f32 (1 sign, 8 exponent, 7 mantissa);
/// f16 has 5 exponent bits (bias 15) and 10 mantissa bits, subnormals m * 2^-24.
@Suite("Half precision")
struct HalfPrecisionTests {
    static let bf16Cases: [(input: UInt32, expected: UInt16, why: String)] = [
        (0x3F80_0000, 0x3F80, "1.0 is exact"),
        (0x3F80_7FFF, 0x3F80, "dropped half 0x7FFF < 0x8000: round down"),
        (0x3F80_8000, 0x3F80, "tie, kept lsb 0 (even): stay"),
        (0x3F81_8000, 0x3F82, "tie, kept lsb 1 (odd): round up to even"),
        (0x3F80_8001, 0x3F81, "just above the tie: round up"),
        (0xBF81_8000, 0xBF82, "sign does not change the magnitude rounding"),
        (0x0001_0000, 0x0001, "f32 subnormal with zero low half is exact"),
        (0x0000_8000, 0x0000, "subnormal tie, even: to +0"),
        (0x0001_8000, 0x0002, "subnormal tie, odd: up to 0x0002"),
        (0x0000_0001, 0x0000, "smallest f32 subnormal rounds to +0"),
        (0x8000_0000, 0x8000, "-0 keeps its sign"),
        (0x7F7F_7FFF, 0x7F7F, "largest value below the overflow tie"),
        (0x7F7F_FFFF, 0x7F80, "FLT_MAX is past the tie with 0x7F80: overflows to +inf"),
        (0x7F80_0000, 0x7F80, "+inf"),
        (0xFF80_0000, 0xFF80, "-inf"),
        (0x7FC0_0000, 0x7FC0, "quiet NaN"),
        (0x7F80_0001, 0x7FC0, "signalling NaN with payload only in the low half: quieted, not rounded to inf"),
        (0xFF80_0001, 0xFFC0, "negative signalling NaN stays a negative NaN"),
    ]

    @Test("f32 -> bf16 rounds to nearest even on hand-picked bits")
    func bf16Rounding() {
        for c in Self.bf16Cases {
            let value = Float(bitPattern: c.input)
            let bits = HalfPrecision.bf16Bits(value)
            #expect(bits == c.expected, "\(String(c.input, radix: 16)): \(c.why); got \(String(bits, radix: 16))")
        }
    }

    @Test("the tensor cast kernels agree with HalfPrecision, through the threaded path too", arguments: TestDevices.all)
    func bf16TensorCast(device: Device) {
        let inputs = Self.bf16Cases.map { Float(bitPattern: $0.input) }
        let cast = Tensor(inputs, shape: [inputs.count], device: device).cast(to: .bf16)
        let bits = cast.withHostBytes { Array($0.bindMemory(to: UInt16.self)) }
        #expect(bits == Self.bf16Cases.map(\.expected))
        // 200k elements split across threads: round trip through bf16 equals the scalar rule.
        let big = sample([200_000], seed: 7, low: -1000, high: 1000, device: device)
        let viaTensor = big.cast(to: .bf16).cast(to: .f32).toFloatArray()
        let viaScalar = big.toFloatArray().map { HalfPrecision.float(bf16: HalfPrecision.bf16Bits($0)) }
        #expect(viaTensor == viaScalar)
    }

    static let f16Cases: [(input: Float, expected: UInt16, why: String)] = [
        (1.0, 0x3C00, "exponent 15, mantissa 0"),
        (-2.0, 0xC000, "sign, exponent 16"),
        (65504, 0x7BFF, "largest finite half: exponent 30, mantissa 0x3FF"),
        (65519, 0x7BFF, "below the tie 65520 between 65504 and 65536: round down"),
        (65520, 0x7C00, "tie, odd mantissa 0x3FF: rounds up into the exponent, i.e. +inf"),
        (1e6, 0x7C00, "overflow to +inf"),
        (1 + 0x1p-11, 0x3C00, "tie between 1 and 1+2^-10, even: 1"),
        (1 + 3 * 0x1p-11, 0x3C02, "tie between 0x3C01 and 0x3C02, even: 0x3C02"),
        (0x1p-14, 0x0400, "smallest normal"),
        (0x1p-24, 0x0001, "smallest subnormal: 1 * 2^-24"),
        (0x1p-25, 0x0000, "tie between 0 and 2^-24, even: 0"),
        (0x1.8p-25, 0x0001, "0.75 * 2^-24: past the tie, up to 2^-24"),
        (3 * 0x1p-25, 0x0002, "1.5 * 2^-24: tie between 1 and 2, even: 2"),
        (1023.5 * 0x1p-24, 0x0400, "tie above the largest subnormal 0x03FF: up to even 0x0400, the smallest normal"),
        (0x1p-26, 0x0000, "below half the smallest subnormal: 0"),
        (-0.0, 0x8000, "-0"),
        (.infinity, 0x7C00, "+inf"),
        (-.infinity, 0xFC00, "-inf"),
    ]

    @Test("f32 -> f16 rounds to nearest even, with subnormals and overflow")
    func f16Rounding() {
        for c in Self.f16Cases {
            let bits = HalfPrecision.f16Bits(c.input)
            #expect(bits == c.expected, "\(c.input): \(c.why); got \(String(bits, radix: 16))")
        }
        let nan = HalfPrecision.f16Bits(.nan)
        #expect(nan & 0x7C00 == 0x7C00 && nan & 0x03FF != 0, "NaN must stay NaN, got \(String(nan, radix: 16))")
    }

    @Test("f16 -> f32 on hand-picked bits")
    func f16Decoding() {
        #expect(HalfPrecision.float(f16: 0x0001) == 0x1p-24)
        #expect(HalfPrecision.float(f16: 0x03FF) == 1023 * 0x1p-24)
        #expect(HalfPrecision.float(f16: 0x3555) == 0x1.554p-2)  // exponent 13 -> 2^-2, mantissa 0x155
        #expect(HalfPrecision.float(f16: 0x7BFF) == 65504)
        #expect(HalfPrecision.float(f16: 0xFC00) == -.infinity)
        #expect(HalfPrecision.float(f16: 0x8000).sign == .minus)
        #expect(HalfPrecision.float(f16: 0x7E00).isNaN)
    }

    @Test("every non-NaN f16 and bf16 pattern survives a round trip through f32")
    func exhaustiveRoundTrip() {
        var f16Failures = 0, bf16Failures = 0
        for raw in 0...UInt16.max {
            let isF16NaN = raw & 0x7C00 == 0x7C00 && raw & 0x03FF != 0
            if !isF16NaN && HalfPrecision.f16Bits(HalfPrecision.float(f16: raw)) != raw { f16Failures += 1 }
            let isBF16NaN = raw & 0x7F80 == 0x7F80 && raw & 0x007F != 0
            if !isBF16NaN && HalfPrecision.bf16Bits(HalfPrecision.float(bf16: raw)) != raw { bf16Failures += 1 }
        }
        #expect(f16Failures == 0)
        #expect(bf16Failures == 0)
    }

    @Test("f16 tensors cast like the scalar rule", arguments: TestDevices.all)
    func f16TensorCast(device: Device) {
        let inputs = Self.f16Cases.map(\.input)
        let bits = Tensor(inputs, shape: [inputs.count], device: device).cast(to: .f16).withHostBytes { Array($0.bindMemory(to: UInt16.self)) }
        #expect(bits == Self.f16Cases.map(\.expected))
        let back = [UInt16(0x0001), 0x7BFF, 0xC000].withUnsafeBytes { Tensor(bytes: $0, dtype: .f16, shape: [3], device: device) }
        #expect(back.toFloatArray() == [0x1p-24, 65504, -2])
    }
}
