/// The precision products of two f32 matrices may run at, chosen for a scope of work.
///
/// ``float32`` (the default) multiplies f32 values. ``bfloat16`` lets a backend round both
/// operands to bf16 (nearest even) and sum the products in f32 where its hardware makes that
/// faster — like PyTorch's `torch.set_float32_matmul_precision("medium")`: inputs, outputs and
/// gradients stay f32 and the relative error of each product grows to about 2⁻⁸ of its terms'
/// magnitudes. On the CPU it takes the AMX-BF16 tiles (Intel Sapphire Rapids and later, when the
/// OS grants the tile state and `RL_NO_AMX` is unset) for products of at least
/// ``bfloat16MinimumDimension`` rows, columns and inner length; everywhere else, and for smaller
/// products, batched products and attention, it computes in f32 as before.
///
/// The setting is task-local: ``withValue(_:_:)`` applies it to the work its closure runs on the
/// calling thread (backward passes taken inside it included), and nothing outside.
public enum MatmulPrecision: String, Sendable, CaseIterable, CustomStringConvertible {
    /// f32 products (the default).
    case float32
    /// Operands rounded to bf16, sums in f32, where the backend has fast bf16 products.
    case bfloat16

    /// The precision products use here: ``float32`` unless inside ``withValue(_:_:)``.
    public static var current: MatmulPrecision { scoped }

    /// Runs `body` with products of f32 matrices at `precision`, then restores the previous one.
    public static func withValue<Result>(_ precision: MatmulPrecision, _ body: () throws -> Result) rethrows -> Result {
        try $scoped.withValue(precision, operation: body)
    }

    /// Products smaller than this in any dimension (rows, columns, inner length) stay f32 at
    /// ``bfloat16`` precision: rounding costs more than the tiles save there, and decode-sized
    /// products (a few rows) are bound by reading the weights, not by arithmetic.
    public static let bfloat16MinimumDimension = 32

    public var description: String { rawValue }

    @TaskLocal private static var scoped: MatmulPrecision = .float32
}
