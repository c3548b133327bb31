/// Philox4x32-10, the counter-based generator every backend uses for random fills, so the same
/// seed gives the same numbers on the CPU and on a GPU.
///
/// Element `i` of a fill draws the block at counter `counterOffset + i` under key `seed`:
/// uniform values use its first word, normal values its first two (Box-Muller).
public enum Philox {
    /// The four output words for a 64-bit counter and a 64-bit key.
    @inlinable
    public static func block(counter: UInt64, key: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        var c0 = UInt32(truncatingIfNeeded: counter), c1 = UInt32(truncatingIfNeeded: counter >> 32)
        var c2: UInt32 = 0, c3: UInt32 = 0
        var k0 = UInt32(truncatingIfNeeded: key), k1 = UInt32(truncatingIfNeeded: key >> 32)
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let n0 = UInt32(truncatingIfNeeded: p1 >> 32) ^ c1 ^ k0
            let n1 = UInt32(truncatingIfNeeded: p1)
            let n2 = UInt32(truncatingIfNeeded: p0 >> 32) ^ c3 ^ k1
            let n3 = UInt32(truncatingIfNeeded: p0)
            c0 = n0; c1 = n1; c2 = n2; c3 = n3
            k0 = k0 &+ 0x9E37_79B9
            k1 = k1 &+ 0xBB67_AE85
        }
        return (c0, c1, c2, c3)
    }

    /// A uniform draw in [0, 1) with 24 bits of precision.
    @inlinable
    public static func unitFloat(_ word: UInt32) -> Float {
        Float(word >> 8) * (1.0 / 16_777_216.0)
    }

    /// Element `index` of a fill with `distribution`.
    @inlinable
    public static func sample(_ distribution: RandomDistribution, seed: UInt64, index: UInt64) -> Float {
        let (w0, w1, _, _) = block(counter: index, key: seed)
        switch distribution {
        case .uniform(let low, let high):
            return low + (high - low) * unitFloat(w0)
        case .normal(let mean, let std):
            // u1 in (0, 1] so the log is finite.
            let u1 = (Float(w0 >> 8) + 1) * (1.0 / 16_777_216.0)
            let u2 = unitFloat(w1)
            let radius = (-2 * _logf(u1)).squareRoot()
            return mean + std * radius * _cosf(2 * Float.pi * u2)
        }
    }
}

#if canImport(Glibc)
import Glibc
@usableFromInline func _logf(_ x: Float) -> Float { Glibc.logf(x) }
@usableFromInline func _cosf(_ x: Float) -> Float { Glibc.cosf(x) }
#elseif canImport(Darwin)
import Darwin
@usableFromInline func _logf(_ x: Float) -> Float { Darwin.logf(x) }
@usableFromInline func _cosf(_ x: Float) -> Float { Darwin.cosf(x) }
#endif
