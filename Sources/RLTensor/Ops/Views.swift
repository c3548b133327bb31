extension Tensor {
    /// Same elements in a new shape; one dimension may be -1. Copies only if the view is not
    /// contiguous.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let inferred = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != inferred }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            target[inferred] = count / known
        }
        precondition(target.reduce(1, *) == count, "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        let source = contiguous()
        let original = shape
        return source.withNewIdentity(shape: target, strides: Tensor.contiguousStrides(target))
            .recorded([source]) { [$0.reshaped(original)] }
    }

    /// Reorders the axes: result axis `i` is input axis `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.count == rank && Set(order) == Set(0..<rank), "invalid permutation \(order) for shape \(shape)")
        var inverse = [Int](repeating: 0, count: rank)
        for (i, axis) in order.enumerated() { inverse[axis] = i }
        return withNewIdentity(shape: order.map { shape[$0] }, strides: order.map { strides[$0] })
            .recorded([self]) { [$0.permuted(inverse)] }
    }

    /// Swaps two axes (default: the last two).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(axis(a), axis(b))
        return permuted(order)
    }

    /// The elements `range` along `axis` (a view).
    public func sliced(axis rawAxis: Int, _ range: Range<Int>) -> Tensor {
        let ax = axis(rawAxis)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[ax],
                     "slice \(range) out of bounds for axis \(ax) of shape \(shape)")
        var newShape = shape
        newShape[ax] = range.count
        let original = shape
        return withNewIdentity(shape: newShape, offset: offset + range.lowerBound * strides[ax])
            .recorded([self]) { [$0.padded(into: original, axis: ax, at: range.lowerBound)] }
    }

    /// Zeros of `fullShape` with `self` written at `start` along `axis` (the slice's gradient).
    func padded(into fullShape: [Int], axis ax: Int, at start: Int) -> Tensor {
        let result = Tensor.zeros(fullShape, dtype: dtype, device: device)
        let view = result.withNewIdentity(shape: shape, offset: start * result.strides[ax])
        backend.copy(dtype: dtype, shape: shape, from: stridedRef, to: view.stridedRef)
        return result
    }

    /// Inserts a size-1 axis.
    public func unsqueezed(_ rawAxis: Int) -> Tensor {
        let ax = rawAxis < 0 ? rawAxis + rank + 1 : rawAxis
        var s = shape
        s.insert(1, at: ax)
        return reshaped(s)
    }

    /// Removes a size-1 axis.
    public func squeezed(_ rawAxis: Int) -> Tensor {
        let ax = axis(rawAxis)
        precondition(shape[ax] == 1, "cannot squeeze axis \(ax) of size \(shape[ax])")
        var s = shape
        s.remove(at: ax)
        return reshaped(s)
    }

    /// Broadcasts size-1 (or missing leading) axes to `target` without copying.
    public func expanded(to target: [Int]) -> Tensor {
        precondition(target.count >= rank, "cannot expand \(shape) to \(target)")
        let lead = target.count - rank
        var newStrides = [Int](repeating: 0, count: target.count)
        for i in 0..<rank {
            if shape[i] == target[lead + i] { newStrides[lead + i] = strides[i] }
            else { precondition(shape[i] == 1, "cannot expand \(shape) to \(target)") }
        }
        if target == shape { return self }
        let original = shape
        return withNewIdentity(shape: target, strides: newStrides).recorded([self]) { [$0.sumToShape(original)] }
    }

    /// Sums a broadcast gradient back down to `target` (the inverse of broadcasting).
    public func sumToShape(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        var result = self
        let lead = rank - target.count
        for _ in 0..<lead { result = result.sum(axis: 0) }
        for (i, size) in target.enumerated() where size == 1 && result.shape[i] != 1 {
            result = result.sum(axis: i, keepDims: true)
        }
        return result.reshaped(target)
    }

    /// A packed copy when the view is strided; the tensor itself when already packed.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        let out = Tensor(uninitialized: shape, dtype: dtype, device: device)
        backend.copy(dtype: dtype, shape: shape, from: stridedRef, to: out.stridedRef)
        return out.recorded([self]) { [$0] }
    }

    /// A packed copy in new memory (any dtype; differentiable).
    public func copied() -> Tensor {
        let out = Tensor(uninitialized: shape, dtype: dtype, device: device)
        backend.copy(dtype: dtype, shape: shape, from: stridedRef, to: out.stridedRef)
        return out.recorded([self]) { [$0] }
    }

    /// Converts the elements to `dtype` (floats round to nearest even).
    public func cast(to target: DType) -> Tensor {
        if target == dtype { return self }
        let source = contiguous()
        let out = Tensor(uninitialized: shape, dtype: target, device: device)
        backend.cast(source.ref, from: dtype, to: out.ref, as: target, count: count)
        let original = dtype
        guard original.isFloatingPoint && target.isFloatingPoint else { return out }
        return out.recorded([source]) { [$0.cast(to: original)] }
    }

    /// The same tensor on another device.
    public func to(_ target: Device) -> Tensor {
        if target == device { return self }
        let packed = contiguous()
        let out = Tensor(uninitialized: shape, dtype: dtype, device: target)
        var bytes = [UInt8](repeating: 0, count: count * dtype.byteSize)
        bytes.withUnsafeMutableBytes { packed.backend.download(packed.storage.buffer, byteOffset: packed.offset * dtype.byteSize, into: $0) }
        bytes.withUnsafeBytes { out.backend.upload($0, to: out.storage.buffer, byteOffset: 0) }
        let origin = device
        return out.recorded([packed]) { [$0.to(origin)] }
    }
}
