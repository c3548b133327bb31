/// Element types a tensor can hold.
///
/// Compute kernels work in `f32`; `bf16` and `f16` are storage formats (weights, checkpoints,
/// mixed precision on GPUs) converted with round-to-nearest-even; `i32`/`i64` hold token ids and
/// indices.
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
    case f32, bf16, f16, i32, i64

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .bf16, .f16: return 2
        case .i64: return 8
        }
    }

    /// True for the floating-point types.
    public var isFloatingPoint: Bool { self == .f32 || self == .bf16 || self == .f16 }

    public var description: String { rawValue }
}

/// Bit-exact conversions between `Float` and the 16-bit float formats.
public enum HalfPrecision {
    /// `Float` to bfloat16 bits, rounding to nearest even; NaN stays a (quiet) NaN.
    @inlinable
    public static func bf16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let lsb = (bits >> 16) & 1
        let rounded = bits &+ 0x7FFF &+ lsb
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// bfloat16 bits to `Float` (exact).
    @inlinable
    public static func float(bf16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// `Float` to IEEE binary16 bits, rounding to nearest even, with subnormals and overflow to
    /// infinity.
    @inlinable
    public static func f16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF {  // inf or NaN
            return sign | 0x7C00 | (mantissa != 0 ? 0x200 : 0)
        }
        let unbiased = exponent - 127
        if unbiased > 15 { return sign | 0x7C00 }
        if unbiased >= -14 {
            // Normal half: keep 10 mantissa bits, round to nearest even on the 13 dropped bits.
            var half = UInt32(unbiased + 15) << 10 | (mantissa >> 13)
            let dropped = mantissa & 0x1FFF
            if dropped > 0x1000 || (dropped == 0x1000 && (half & 1) == 1) { half += 1 }
            return sign | UInt16(truncatingIfNeeded: half)  // a carry into the exponent is correct
        }
        if unbiased < -25 { return sign }
        // Subnormal half: value = m * 2^-24.
        let full = mantissa | 0x80_0000  // 24-bit significand
        let shift = UInt32(-unbiased - 14 + 13)  // 14..24
        var half = full >> shift
        let remainder = full & ((1 << shift) - 1)
        let halfway = UInt32(1) << (shift - 1)
        if remainder > halfway || (remainder == halfway && (half & 1) == 1) { half += 1 }
        return sign | UInt16(truncatingIfNeeded: half)
    }

    /// IEEE binary16 bits to `Float` (exact).
    @inlinable
    public static func float(f16 bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32((bits >> 10) & 0x1F)
        let mantissa = UInt32(bits & 0x3FF)
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            let magnitude = Float(mantissa) * (1.0 / 16_777_216.0)  // 2^-24
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 0x1F {
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }
}
