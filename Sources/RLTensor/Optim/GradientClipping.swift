/// Global L2 norm of a set of gradients, accumulated in double precision.
public func globalGradientNorm(_ gradients: [String: Tensor]) -> Double {
    gradients.values.reduce(0) { $0 + $1.sumOfSquares() }.squareRoot()
}

/// Scales every gradient by `maxNorm / norm` when the global norm exceeds `maxNorm` (as
/// `torch.nn.utils.clip_grad_norm_`, with its 1e-6 guard), and returns the norm before clipping.
/// A non-finite norm is returned as is and leaves the gradients untouched: the caller should
/// skip that update.
@discardableResult
public func clipGradientNorm(_ gradients: inout [String: Tensor], maxNorm: Double) -> Double {
    let norm = globalGradientNorm(gradients)
    guard norm.isFinite, norm > maxNorm else { return norm }
    let factor = Float(maxNorm / (norm + 1e-6))
    gradients = withoutGradients { gradients.mapValues { $0 * factor } }
    return norm
}

/// Whether every value of every tensor is finite (bf16 and f16 tensors are widened one at a time).
public func weightsAreFinite(_ tensors: [String: Tensor]) -> Bool {
    withoutGradients {
        tensors.values.allSatisfy { t in (t.dtype == .f32 ? t : t.cast(to: .f32)).sumOfSquares().isFinite }
    }
}
