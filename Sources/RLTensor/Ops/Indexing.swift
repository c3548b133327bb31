extension Tensor {
    /// Stops with a message if an i32 index tensor holds a value outside `0..<bound`.
    func checkIndices(below bound: Int, what: String) {
        guard device == .cpu else { return }  // device-side checks are the backend's business
        let values = toInt32Array()
        if let bad = values.firstIndex(where: { $0 < 0 || Int($0) >= bound }) {
            preconditionFailure("\(what) index \(values[bad]) at position \(bad) is out of range 0..<\(bound)")
        }
    }

    /// Joins tensors along `axis`; all other axes must agree.
    public static func concat(_ parts: [Tensor], axis rawAxis: Int) -> Tensor {
        precondition(!parts.isEmpty, "concat of no tensors")
        let first = parts[0]
        let ax = first.axis(rawAxis)
        for p in parts {
            precondition(p.rank == first.rank && p.dtype == first.dtype && p.device == first.device,
                         "concat: \(p) does not match \(first)")
            for i in 0..<first.rank where i != ax {
                precondition(p.shape[i] == first.shape[i], "concat along \(ax): shapes \(first.shape) and \(p.shape) differ")
            }
        }
        var shape = first.shape
        shape[ax] = parts.map { $0.shape[ax] }.reduce(0, +)
        let out = Tensor(uninitialized: shape, dtype: first.dtype, device: first.device)
        var start = 0
        var ranges: [Range<Int>] = []
        for p in parts {
            let view = out.withNewIdentity(shape: p.shape, offset: start * out.strides[ax])
            out.backend.copy(dtype: p.dtype, shape: p.shape, from: p.stridedRef, to: view.stridedRef)
            ranges.append(start..<(start + p.shape[ax]))
            start += p.shape[ax]
        }
        return out.recorded(parts) { g in ranges.map { g.sliced(axis: ax, $0).contiguous() } }
    }

    /// Stacks equal-shaped tensors along a new axis.
    public static func stack(_ parts: [Tensor], axis: Int = 0) -> Tensor {
        concat(parts.map { $0.unsqueezed(axis) }, axis: axis)
    }

    /// Splits along `axis` into pieces of the given sizes (views).
    public func split(_ sizes: [Int], axis rawAxis: Int) -> [Tensor] {
        let ax = axis(rawAxis)
        precondition(sizes.reduce(0, +) == shape[ax], "split sizes \(sizes) do not add up to \(shape[ax])")
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return sliced(axis: ax, start..<(start + size))
        }
    }

    /// `result[..., j] = self[..., indices[..., j]]` along the last axis (`indices` is i32 with
    /// the same leading shape).
    public func gather(lastAxis indices: Tensor) -> Tensor {
        requireFloat32("gather")
        precondition(indices.dtype == .i32, "gather: indices must be i32")
        precondition(Array(shape.dropLast()) == Array(indices.shape.dropLast()),
                     "gather: \(shape) and indices \(indices.shape) disagree on leading axes")
        let x = contiguous(), idx = indices.contiguous()
        let cols = shape.last!, k = indices.shape.last!
        let rows = cols == 0 ? 0 : count / cols
        idx.checkIndices(below: cols, what: "gather")
        let out = Tensor(uninitialized: indices.shape, dtype: .f32, device: device)
        backend.gather(x.ref, indices: idx.ref, out.ref, rows: rows, cols: cols, k: k)
        return out.recorded([x]) { g in
            let dx = Tensor(uninitialized: x.shape, dtype: .f32, device: x.device)
            x.backend.gatherBackward(g.contiguous().ref, indices: idx.ref, dx.ref, rows: rows, cols: cols, k: k)
            return [dx]
        }
    }

    /// Rows of this `[vocab, dim]` table at `ids` (i32, any shape) → `ids.shape + [dim]`, as
    /// `outputType`: f32, or bf16 activations of inference (no gradient reaches the table then).
    /// The backward pass scatter-adds into the table's gradient (into its accumulator directly
    /// when the table's gradient is accumulated, `valueAndAccumulatedGrad`).
    public func embedding(_ ids: Tensor, as outputType: DType = .f32) -> Tensor {
        precondition(rank == 2, "embedding table must be [vocab, dim], got \(shape)")
        precondition(ids.dtype == .i32, "embedding ids must be i32, got \(ids.dtype)")
        precondition(dtype == .f32 || dtype == .bf16, "embedding table must be f32 or bf16, got \(dtype)")
        let table = contiguous()
        let idx = ids.contiguous()
        idx.checkIndices(below: shape[0], what: "embedding")
        let dim = shape[1]
        precondition(outputType == .f32 || outputType == .bf16, "embedding output must be f32 or bf16, got \(outputType)")
        if outputType == .bf16, let tape = Tape.current {
            precondition(!tape.isTracked(table), "embedding: bf16 activations are for inference; no gradient can flow through them")
        }
        let out = Tensor(uninitialized: ids.shape + [dim], dtype: outputType, device: device)
        backend.embedding(table: table.ref, tableType: dtype, ids: idx.ref, out.ref, count: idx.count, dim: dim, outputType: outputType)
        guard table.dtype == .f32 else { return out }  // bf16 tables are frozen inference copies
        return out.recorded([table]) { [weak tape = Tape.current] g in
            if let tape, tape.accumulatesDirectly(table.id) {
                tape.accumulateDirectly(into: table.id) { Tensor.accumulateEmbeddingGradient(g.contiguous(), ids: idx, into: $0, seed: $1) }
                return [nil]
            }
            let dt = Tensor.zeros(table.shape, device: table.device)
            table.backend.embeddingBackward(g.contiguous().ref, ids: idx.ref, gradTable: dt.ref, count: idx.count, dim: dim)
            return [dt]
        }
    }
}
