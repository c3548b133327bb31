extension Tensor {
    /// `self += other`, in place, without a temporary (packed f32 tensors of one shape, on one
    /// device). Not recorded for gradients: for accumulators and optimizer state.
    public func addInPlace(_ other: Tensor) {
        precondition(dtype == .f32 && other.dtype == .f32 && isContiguous, "addInPlace: packed f32 tensors only")
        precondition(other.shape == shape, "addInPlace: shape \(other.shape) does not match \(shape)")
        Tensor.checkSameDevice(self, other, "addInPlace")
        backend.binary(.add, broadcastRef(to: shape), other.broadcastRef(to: shape), ref, shape: shape, dtype: .f32)
    }

    /// Overwrites rows `rows[i]` (i32 `[n]`, distinct, each in `0..<shape[0]`) of this packed f32
    /// or bf16 tensor with the rows of `source` (`[n] + shape.dropFirst()`, of the same type), in
    /// one call. Not recorded for gradients: for caches written in place.
    public func assignRows(_ rows: Tensor, from source: Tensor) {
        precondition((dtype == .f32 || dtype == .bf16) && source.dtype == dtype && isContiguous && rank >= 1,
                     "assignRows: packed f32 or bf16 tensors of one type only, got \(dtype) and \(source.dtype)")
        precondition(rows.dtype == .i32 && rows.rank == 1 && source.shape == [rows.count] + shape.dropFirst(),
                     "assignRows: \(rows.count) rows of \(source.shape) do not fit \(shape)")
        Tensor.checkSameDevice(self, source, "assignRows")
        Tensor.checkSameDevice(self, rows, "assignRows")
        let packed = source.contiguous(), indices = rows.contiguous()
        backend.scatterRows(packed.ref, rows: indices.ref, ref, count: rows.count, dim: shape[0] == 0 ? 0 : count / shape[0], dtype: dtype)
    }

    /// `self *= factor`, in place (a packed f32 tensor). Not recorded for gradients.
    public func scaleInPlace(by factor: Float) {
        precondition(dtype == .f32 && isContiguous, "scaleInPlace: packed f32 tensors only")
        backend.unary(.mulScalar(factor), ref, ref, count: count)
    }
}

extension Tensor {
    /// Writes `values` (row-major) over this packed i32 tensor's elements, in place: its storage,
    /// and so every view of it, keeps its address (inputs of a `ReplayableStep`). Not recorded
    /// for gradients.
    public func overwrite(with values: [Int32]) {
        precondition(dtype == .i32, "overwrite(with: [Int32]): the tensor is \(dtype), not i32")
        overwrite(bytesOf: values)
    }

    /// Writes `values` (row-major) over this packed f32 tensor's elements, in place (as the i32
    /// `overwrite(with:)`).
    public func overwrite(with values: [Float]) {
        precondition(dtype == .f32, "overwrite(with: [Float]): the tensor is \(dtype), not f32")
        overwrite(bytesOf: values)
    }

    private func overwrite<T: BitwiseCopyable>(bytesOf values: [T]) {
        precondition(isContiguous, "overwrite(with:): packed tensors only")
        precondition(values.count == count, "overwrite(with:): \(values.count) values do not fill shape \(shape)")
        values.withUnsafeBytes { backend.upload($0, to: storage.buffer, byteOffset: offset * dtype.byteSize) }
    }
}
