/// Global L2 norm of a set of gradients, accumulated in double precision in name order (so the
/// result does not depend on the dictionary's order).
public func globalGradientNorm(_ gradients: [String: Tensor]) -> Double {
    gradients.sorted { $0.key < $1.key }.reduce(0) { $0 + $1.value.sumOfSquares() }.squareRoot()
}

/// Scales every gradient by `maxNorm / norm` when the global norm exceeds `maxNorm` (as
/// `torch.nn.utils.clip_grad_norm_`, with its 1e-6 guard), in place (no second set of gradients
/// is made), and returns the norm before clipping. A non-finite norm is returned as is and leaves
/// the gradients untouched: the caller should skip that update.
@discardableResult
public func clipGradientNorm(_ gradients: inout [String: Tensor], maxNorm: Double) -> Double {
    let norm = globalGradientNorm(gradients)
    guard norm.isFinite, norm > maxNorm else { return norm }
    let factor = Float(maxNorm / (norm + 1e-6))
    // Packed gradients (all the autograd makes) are scaled where they are; one tensor given under
    // two names (autograd may hand the same gradient to two parameters) is scaled once.
    var scaled = Set<StorageRegion>()
    gradients = gradients.mapValues { gradient in
        guard gradient.isContiguous && gradient.dtype == .f32 else { return withoutGradients { gradient * factor } }
        if scaled.insert(StorageRegion(storage: ObjectIdentifier(gradient.storage), offset: gradient.offset)).inserted {
            gradient.scaleInPlace(by: factor)
        }
        return gradient
    }
    return norm
}

/// Whether every value of every tensor is finite. f32 tensors, and bf16 ones on the CPU, are read
/// in place; other types are widened one tensor at a time.
public func weightsAreFinite(_ tensors: [String: Tensor]) -> Bool {
    withoutGradients {
        tensors.values.allSatisfy { t in
            let readable = t.dtype == .f32 || (t.dtype == .bf16 && t.device == .cpu)
            return (readable ? t : t.cast(to: .f32)).sumOfSquares().isFinite
        }
    }
}

/// Where a tensor's elements start: its storage and offset.
private struct StorageRegion: Hashable {
    let storage: ObjectIdentifier
    let offset: Int
}
