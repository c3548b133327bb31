/// A deterministic assignment of values to variables, used to test symbolic
/// expressions for equality at several seeded random points.
///
/// Real points give positive values in [0.5, 2.5), so identities that hold for positive
/// quantities (`\sqrt{r^2} = r`, common for physical answers) are accepted. Integer points
/// (for expressions with floor, ceiling, factorials or binomials, whose variables count
/// things) give integers in [1, 37]; signed points (for absolute values of variables) mix signs.
struct SamplePoint: Sendable {
    let seed: UInt64
    let integerValued: Bool
    /// Whether values may be negative (used when an absolute value is applied to a variable).
    var signed = false

    /// The points used for one comparison.
    static let standard: [SamplePoint] = (0..<4).map { SamplePoint(seed: 0x9E37_79B9_7F4A_7C15 &* UInt64($0 + 1), integerValued: false) }
    static let integers: [SamplePoint] = (0..<24).map { SamplePoint(seed: UInt64($0), integerValued: true) }
    static let signedReals: [SamplePoint] = (0..<6).map { SamplePoint(seed: 0xA076_1D64_78BD_642F &* UInt64($0 + 1), integerValued: false, signed: true) }

    /// Points suited to the expressions compared: none needed without variables (one point),
    /// integer points when a variable occurs under floor/ceiling/factorial/binomial, else real points.
    static func points(for nodes: [MathNode]) -> [SamplePoint] {
        guard nodes.contains(where: { $0.containsVariable() }) else { return [standard[0]] }
        if nodes.contains(where: { $0.hasIntegerFunctionOfVariable() }) { return integers }
        return nodes.contains(where: { $0.hasAbsoluteValueOfVariable() }) ? signedReals : standard
    }

    func value(of name: String) -> Complex {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325 ^ seed
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01B3
        }
        // SplitMix64 finalizer, then map the top 53 bits to [0, 1).
        hash = (hash ^ (hash >> 30)) &* 0xBF58_476D_1CE4_E5B9
        hash = (hash ^ (hash >> 27)) &* 0x94D0_49BB_1331_11EB
        hash ^= hash >> 31
        if integerValued {
            // Each variable walks 1…37 with its own stride and offset, so periodic functions
            // of small period (floor(n/3), parity) are told apart and variables stay independent.
            let stride = 1 + hash % 6, offset = (hash >> 8) % 37
            return Complex(Double(1 + (seed &* stride &+ offset) % 37))
        }
        let unit = Double(hash >> 11) / Double(1 << 53)
        if signed && hash & 1 == 1 { return Complex(-(0.5 + 2 * unit)) }
        return Complex(0.5 + 2 * unit)
    }
}
