extension Tensor {
    /// How a 2-D view can be handed to GEMM without copying: packed or packed-transposed.
    private struct MatrixOperand {
        let tensor: Tensor
        let transposed: Bool
        let leadingDimension: Int
    }

    /// Views the last two axes as a GEMM operand, copying only if neither layout fits.
    private static func matrixOperand(_ t: Tensor) -> MatrixOperand {
        let r = t.rank
        let rows = t.shape[r - 2], cols = t.shape[r - 1]
        let sr = t.strides[r - 2], sc = t.strides[r - 1]
        let batchPacked: Bool = {
            // leading (batch) axes must be packed over the matrix block for strided batching
            var expected = rows * cols
            for axis in stride(from: r - 3, through: 0, by: -1) where t.shape[axis] != 1 {
                if t.strides[axis] != expected { return false }
                expected *= t.shape[axis]
            }
            return true
        }()
        if batchPacked {
            if sc == 1 && (sr == cols || rows == 1) { return MatrixOperand(tensor: t, transposed: false, leadingDimension: Swift.max(cols, 1)) }
            if sr == 1 && (sc == rows || cols == 1) { return MatrixOperand(tensor: t, transposed: true, leadingDimension: Swift.max(rows, 1)) }
        }
        return MatrixOperand(tensor: t.contiguous(), transposed: false, leadingDimension: Swift.max(cols, 1))
    }

    /// Matrix product over the last two axes: `[..., m, k] x [..., k, n] -> [..., m, n]`.
    ///
    /// `other` may be 2-D (shared by every batch entry, e.g. a weight), or have the same batch
    /// axes. Transposed views (`w.transposed()`) are passed to GEMM without copying; a bf16
    /// right operand is read directly by the backend (f32 accumulation). A bf16 left operand
    /// (activations of inference) takes a 2-D bf16 right operand and gives a bf16 product, still
    /// accumulated in f32. Inside `MatmulPrecision.withValue(.bfloat16)` a product of f32
    /// matrices with a 2-D right operand (the forward and both gradients of a linear layer) may
    /// round its operands to bf16 (see `MatmulPrecision`).
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(rank >= 2 && other.rank >= 2, "matmul needs matrices, got \(shape) and \(other.shape)")
        let outType = Tensor.activationType("matmul", [self], recordedInputs: [other])
        precondition(other.dtype == .f32 || other.dtype == .bf16, "matmul: right operand must be f32 or bf16, got \(other.dtype)")
        precondition(outType == .f32 || (other.dtype == .bf16 && other.rank == 2),
                     "matmul: bf16 activations take a 2-D bf16 right operand, got \(other.dtype) \(other.shape)")
        Tensor.checkSameDevice(self, other, "matmul")
        let m = shape[rank - 2], k = shape[rank - 1]
        let k2 = other.shape[other.rank - 2], n = other.shape[other.rank - 1]
        precondition(k == k2, "matmul: inner dimensions differ: \(shape) x \(other.shape)")
        let batchShape = Array(shape.dropLast(2))
        let out: Tensor
        if other.rank == 2 {
            // Fold the batch into rows: [B*m, k] x [k, n].
            let rowsAll = batchShape.reduce(1, *) * m
            let a = Tensor.matrixOperand(self.rank == 2 ? self : self.contiguous().reshapedView([rowsAll, k]))
            let b = Tensor.matrixOperand(other)
            out = Tensor(uninitialized: batchShape + [m, n], dtype: outType, device: device)
            var d = GemmDescriptor(m: a.tensor.rank == 2 ? a.tensor.shape[0] : rowsAll, n: n, k: k,
                                   a: BufferRef(a.tensor.storage.buffer, offset: a.tensor.offset), lda: a.leadingDimension,
                                   b: BufferRef(b.tensor.storage.buffer, offset: b.tensor.offset), ldb: b.leadingDimension,
                                   c: BufferRef(out.storage.buffer, offset: 0), ldc: Swift.max(n, 1))
            d.transposeA = a.transposed
            d.transposeB = b.transposed
            d.bType = other.dtype
            d.aType = outType
            d.cType = outType
            d.precision = MatmulPrecision.current
            if d.m > 0 && n > 0 { backend.gemm(d) } else { backend.fill(out.ref, count: out.count, dtype: outType, value: 0) }
        } else {
            precondition(Array(other.shape.dropLast(2)) == batchShape,
                         "matmul: batch axes differ: \(shape) x \(other.shape)")
            precondition(other.dtype == .f32, "batched matmul needs f32 operands")
            let a = Tensor.matrixOperand(self), b = Tensor.matrixOperand(other)
            let batch = batchShape.reduce(1, *)
            out = Tensor(uninitialized: batchShape + [m, n], dtype: .f32, device: device)
            var d = GemmDescriptor(m: m, n: n, k: k,
                                   a: BufferRef(a.tensor.storage.buffer, offset: a.tensor.offset), lda: a.leadingDimension,
                                   b: BufferRef(b.tensor.storage.buffer, offset: b.tensor.offset), ldb: b.leadingDimension,
                                   c: BufferRef(out.storage.buffer, offset: 0), ldc: Swift.max(n, 1))
            d.transposeA = a.transposed
            d.transposeB = b.transposed
            d.strideA = m * k; d.strideB = k * n; d.strideC = m * n
            d.batchCount = batch
            if batch > 0 && m > 0 && n > 0 { backend.gemm(d) } else { backend.fill(out.ref, count: out.count, dtype: .f32, value: 0) }
        }
        // The left operand is kept for backward only when the right one's gradient will be taken:
        // under a frozen weight (bf16, or a LoRA base) the input is released after the forward.
        let keptLeft: Tensor? = other.dtype == .f32 && Tape.current?.isTracked(other) == true ? self : nil
        let rhs = other, leftCount = count
        return out.recorded([self, other]) { g, wanted in
            // A bf16 right operand (a frozen weight) is read as it is by the backend.
            let gradLeft = wanted[0] ? g.matmul(rhs.transposed()) : nil
            guard wanted[1], let lhs = keptLeft else { return [gradLeft, nil] }
            let gradRight: Tensor
            if rhs.rank == 2 {
                let rowsAll = leftCount / k
                let a2 = lhs.contiguous().reshapedView([rowsAll, k])
                let g2 = g.contiguous().reshapedView([rowsAll, n])
                if rhs.strides == [1, k] && k > 1 {
                    // `rhs` is a transposed view of a packed `[n, k]` weight (`linear`): compute the
                    // gradient in the weight's own layout, so the transpose's gradient is packed
                    // and no copy of a weight-sized gradient is ever made.
                    gradRight = g2.transposed().matmul(a2).transposed()
                } else {
                    gradRight = a2.transposed().matmul(g2)
                }
            } else {
                gradRight = lhs.transposed().matmul(g)
            }
            return [gradLeft, gradRight]
        }
    }

    /// A reshape of a packed tensor that records nothing (internal plumbing).
    func reshapedView(_ newShape: [Int]) -> Tensor {
        precondition(isContiguous)
        return withNewIdentity(shape: newShape, strides: Tensor.contiguousStrides(newShape))
    }

    /// `self.matmul(weight.transposed())`: a linear layer with a `[out, in]` weight as Hugging
    /// Face stores it, plus an optional bias.
    ///
    /// When the weight's gradient is accumulated (`valueAndAccumulatedGrad`), backward adds it
    /// into the accumulator a block of rows at a time instead of making a weight-sized gradient.
    public func linear(_ weight: Tensor, bias: Tensor? = nil) -> Tensor {
        let y = canAccumulateWeightGradient(of: weight) ? linearAccumulatingWeightGradient(weight) : matmul(weight.transposed())
        // bf16 activations (inference) take the f32 bias rounded to their type.
        return bias.map { y + ($0.dtype == y.dtype ? $0 : $0.cast(to: y.dtype)) } ?? y
    }
}
