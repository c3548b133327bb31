extension Tensor {
    /// `self += other`, in place, without a temporary (packed f32 tensors of one shape, on one
    /// device). Not recorded for gradients: for accumulators and optimizer state.
    public func addInPlace(_ other: Tensor) {
        precondition(dtype == .f32 && other.dtype == .f32 && isContiguous, "addInPlace: packed f32 tensors only")
        precondition(other.shape == shape, "addInPlace: shape \(other.shape) does not match \(shape)")
        Tensor.checkSameDevice(self, other, "addInPlace")
        backend.binary(.add, broadcastRef(to: shape), other.broadcastRef(to: shape), ref, shape: shape)
    }

    /// `self *= factor`, in place (a packed f32 tensor). Not recorded for gradients.
    public func scaleInPlace(by factor: Float) {
        precondition(dtype == .f32 && isContiguous, "scaleInPlace: packed f32 tensors only")
        backend.unary(.mulScalar(factor), ref, ref, count: count)
    }
}
