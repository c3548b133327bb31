extension Tensor {
    private func rawReduce(_ op: ReduceOp, axis ax: Int) -> Tensor {
        requireFloat32("\(op)")
        let x = contiguous()
        let outer = shape[..<ax].reduce(1, *), inner = shape[(ax + 1)...].reduce(1, *)
        var outShape = shape
        outShape[ax] = 1
        let out = Tensor(uninitialized: outShape, dtype: .f32, device: device)
        backend.reduce(op, x.ref, out.ref, outer: outer, axis: shape[ax], inner: inner)
        return out
    }

    /// Sum over `axis`.
    public func sum(axis rawAxis: Int, keepDims: Bool = false) -> Tensor {
        let ax = axis(rawAxis)
        let kept = rawReduce(.sum, axis: ax).recorded([self]) { [shape] g in [g.expanded(to: shape)] }
        return keepDims ? kept : kept.squeezed(ax)
    }

    /// Sum of all elements (a scalar).
    public func sum() -> Tensor {
        reshaped([count]).sum(axis: 0)
    }

    /// Mean over `axis`.
    public func mean(axis rawAxis: Int, keepDims: Bool = false) -> Tensor {
        sum(axis: rawAxis, keepDims: keepDims) * (1 / Float(shape[axis(rawAxis)]))
    }

    /// Mean of all elements.
    public func mean() -> Tensor { sum() * (1 / Float(Swift.max(count, 1))) }

    /// Maximum over `axis`; the gradient goes to every position equal to the maximum.
    public func max(axis rawAxis: Int, keepDims: Bool = false) -> Tensor {
        let ax = axis(rawAxis)
        let m = rawReduce(.max, axis: ax)
        let kept = m.recorded([self]) { g in
            let hits = Tensor.rawBinary(.equal, self, m)
            return [hits * g.expanded(to: self.shape)]
        }
        return keepDims ? kept : kept.squeezed(ax)
    }

    /// Minimum over `axis` (no gradient rule beyond `max`'s, by symmetry).
    public func min(axis rawAxis: Int, keepDims: Bool = false) -> Tensor {
        -((-self).max(axis: rawAxis, keepDims: keepDims))
    }

    /// Sum of squares of all elements, in double precision (no gradient). f32, or bf16 on the CPU.
    public func sumOfSquares() -> Double {
        if dtype == .bf16, let cpu = backend as? CPUBackend {
            let x = contiguous()
            return cpu.sumOfSquaresBF16(x.ref, count: count)
        }
        requireFloat32("sumOfSquares")
        let x = contiguous()
        return backend.sumOfSquares(x.ref, count: count)
    }
}
