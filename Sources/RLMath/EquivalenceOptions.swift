/// Options for deciding whether two answers are mathematically the same.
public struct EquivalenceOptions: Sendable, Hashable {
    /// Relative tolerance for values that could not be computed exactly (irrationals,
    /// expressions with variables). Exact rationals are always compared exactly.
    public var relativeTolerance: Double
    /// Accept `50\%` for `0.5` (and `0.5` for a gold `50\%`). A spurious sign still fails:
    /// `\frac16\%` is 1/600, not 1/6.
    public var percentAsFraction: Bool

    public init(relativeTolerance: Double = 1e-9, percentAsFraction: Bool = true) {
        self.relativeTolerance = relativeTolerance
        self.percentAsFraction = percentAsFraction
    }
}
