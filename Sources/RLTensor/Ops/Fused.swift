extension Tensor {
    /// RMSNorm over the last axis: `x / sqrt(mean(x^2) + eps) * weight`. `weight` is f32; `x`
    /// is f32, or bf16 activations of inference (computed in f32, the result bf16).
    public func rmsNorm(weight: Tensor, eps: Float) -> Tensor {
        let dtype = Tensor.activationType("rmsNorm", [self], recordedInputs: [weight]); weight.requireFloat32("rmsNorm weight")
        let cols = shape.last ?? 0
        precondition(weight.shape == [cols], "rmsNorm: weight \(weight.shape) does not match last axis of \(shape)")
        let x = contiguous(), w = weight.contiguous()
        let rows = cols == 0 ? 0 : count / cols
        let y = Tensor(uninitialized: shape, dtype: dtype, device: device)
        let rstd = Tensor(uninitialized: [rows], dtype: .f32, device: device)
        backend.rmsNorm(x.ref, weight: w.ref, y.ref, rstd: rstd.ref, rows: rows, cols: cols, eps: eps, dtype: dtype)
        return y.recorded([x, w]) { g in
            let dx = Tensor(uninitialized: x.shape, dtype: .f32, device: x.device)
            let dw = Tensor.zeros([cols], device: x.device)
            x.backend.rmsNormBackward(g.contiguous().ref, x: x.ref, weight: w.ref, rstd: rstd.ref, gradInput: dx.ref,
                                      gradWeight: dw.ref, rows: rows, cols: cols)
            return [dx, dw]
        }
    }

    /// Rotary position embedding (Qwen2/Llama rotate-half convention) of `[batch, tokens, heads,
    /// headDim]` at `positions` (`[batch, tokens]`, i32), with base `theta`. f32, or bf16
    /// activations of inference (rotated in f32).
    public func rotaryEmbedding(positions: Tensor, theta: Float) -> Tensor {
        let dtype = Tensor.activationType("rotaryEmbedding", [self])
        precondition(rank == 4, "rotaryEmbedding expects [batch, tokens, heads, headDim], got \(shape)")
        precondition(positions.dtype == .i32 && positions.shape == [shape[0], shape[1]],
                     "rotaryEmbedding: positions must be i32 [\(shape[0]), \(shape[1])], got \(positions.dtype) \(positions.shape)")
        precondition(shape[3] % 2 == 0 && shape[3] <= 2048, "rotaryEmbedding: head dim \(shape[3]) must be even and <= 2048")
        let x = contiguous(), pos = positions.contiguous()
        let tokens = shape[0] * shape[1], heads = shape[2], dim = shape[3]
        let y = Tensor(uninitialized: shape, dtype: dtype, device: device)
        backend.rope(x.ref, positions: pos.ref, y.ref, tokens: tokens, heads: heads, headDim: dim, theta: theta, inverse: false, dtype: dtype)
        // The gradient is the inverse rotation of the output's: the input is not kept.
        return y.recorded([x]) { [shape, device, backend] g in
            let dx = Tensor(uninitialized: shape, dtype: .f32, device: device)
            backend.rope(g.contiguous().ref, positions: pos.ref, dx.ref, tokens: tokens, heads: heads, headDim: dim, theta: theta, inverse: true, dtype: .f32)
            return [dx]
        }
    }

    /// `silu(gate) * up`, the SwiGLU activation (f32, or bf16 activations of inference computed
    /// in f32).
    public static func swiglu(gate: Tensor, up: Tensor) -> Tensor {
        let dtype = activationType("swiglu", [gate, up])
        precondition(gate.shape == up.shape, "swiglu: gate \(gate.shape) and up \(up.shape) differ")
        let g = gate.contiguous(), u = up.contiguous()
        let y = Tensor(uninitialized: gate.shape, dtype: dtype, device: gate.device)
        g.backend.swiglu(gate: g.ref, up: u.ref, y.ref, count: g.count, dtype: dtype)
        return y.recorded([g, u]) { dy in
            let dg = Tensor(uninitialized: g.shape, dtype: .f32, device: g.device)
            let du = Tensor(uninitialized: g.shape, dtype: .f32, device: g.device)
            g.backend.swigluBackward(gate: g.ref, up: u.ref, gradOutput: dy.contiguous().ref, gradGate: dg.ref, gradUp: du.ref, count: g.count)
            return [dg, du]
        }
    }

    /// Causal grouped-query attention.
    ///
    /// `query` is `[batch, queryLength, queryHeads, headDim]`, `key`/`value` are `[batch,
    /// keyLength, kvHeads, headDim]` (views whose last two axes are packed, e.g. a slice of a KV
    /// cache, are read in place). Query `i` is at position `queryOffset + i` and attends to keys
    /// `j <= queryOffset + i` whose `keyMask` entry (i32 `[batch, keyLength]`, 1 = token,
    /// 0 = padding) is set. Queries that see no key give zeros. Returns `[batch, queryLength,
    /// queryHeads, headDim]`. Query, key and value are f32, or all bf16 activations of inference
    /// (a bf16 KV cache; scores and softmax in f32, the output bf16).
    public static func attention(query: Tensor, key: Tensor, value: Tensor, keyMask: Tensor? = nil,
                                 queryOffset: Int = 0, scale: Float? = nil) -> Tensor {
        let dtype = activationType("attention", [query, key, value])
        precondition(query.rank == 4 && key.rank == 4 && value.rank == 4, "attention expects rank-4 tensors")
        let (b, tq, hq, d) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
        let (tk, hkv) = (key.shape[1], key.shape[2])
        precondition(key.shape == value.shape && key.shape[0] == b && key.shape[3] == d,
                     "attention: query \(query.shape), key \(key.shape), value \(value.shape) disagree")
        precondition(hkv > 0 && hq % hkv == 0, "attention: \(hq) query heads are not a multiple of \(hkv) KV heads")
        if let keyMask {
            precondition(keyMask.dtype == .i32 && keyMask.shape == [b, tk], "attention: key mask must be i32 [\(b), \(tk)], got \(keyMask.dtype) \(keyMask.shape)")
        }
        func packedHeads(_ t: Tensor) -> Tensor {
            let h = t.shape[2], dim = t.shape[3]
            return (t.strides[3] == 1 && (t.strides[2] == dim || h == 1)) ? t : t.contiguous()
        }
        let q = packedHeads(query), k = packedHeads(key), v = packedHeads(value)
        let mask = keyMask.map { m in m.strides[1] == 1 ? m : m.contiguous() }
        var descriptor = AttentionDescriptor(
            batch: b, queryLength: tq, keyLength: tk, queryHeads: hq, kvHeads: hkv, headDim: d,
            queryOffset: queryOffset, scale: scale ?? 1 / Float(d).squareRoot(),
            queryStrides: (q.strides[0], q.strides[1]), keyStrides: (k.strides[0], k.strides[1]),
            valueStrides: (v.strides[0], v.strides[1]), keyMaskStride: mask?.strides[0] ?? 0)
        descriptor.dtype = dtype
        let out = Tensor(uninitialized: [b, tq, hq, d], dtype: dtype, device: query.device)
        let lse = Tensor(uninitialized: [b, hq, tq], dtype: .f32, device: query.device)
        let maskRef = mask.map { BufferRef($0.storage.buffer, offset: $0.offset) }
        let backend = query.backend
        backend.attention(descriptor, query: q.rawRef, key: k.rawRef, value: v.rawRef, keyMask: maskRef, output: out.ref, logSumExp: lse.ref)
        return out.recorded([q, k, v]) { g in
            let dq = Tensor(uninitialized: [b, tq, hq, d], dtype: .f32, device: q.device)
            let dk = Tensor(uninitialized: [b, tk, hkv, d], dtype: .f32, device: q.device)
            let dv = Tensor(uninitialized: [b, tk, hkv, d], dtype: .f32, device: q.device)
            backend.attentionBackward(descriptor, query: q.rawRef, key: k.rawRef, value: v.rawRef, keyMask: maskRef,
                                      output: out.ref, logSumExp: lse.ref, gradOutput: g.contiguous().ref,
                                      gradQuery: dq.ref, gradKey: dk.ref, gradValue: dv.ref)
            return [dq, dk, dv]
        }
    }

    /// The buffer at this view's offset, for kernels that take explicit strides.
    var rawRef: BufferRef { BufferRef(storage.buffer, offset: offset) }
}
