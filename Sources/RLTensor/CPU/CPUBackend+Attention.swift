import CRLKernels

extension CPUBackend {
    /// Query rows per block: bounds the score scratch to `block x keyLength` floats.
    private static let queryBlock = 128

    /// Runs `body(task, scratch)` for tasks `0..<count` across the worker pool, each task on
    /// `work` multiply-adds of single-threaded OpenBLAS products and with its own scratch of
    /// `scratchCount` floats. Tasks must write disjoint memory.
    private func forEachAttentionTask(count: Int, work: Int, scratchCount: Int,
                                      _ body: (_ task: Int, _ scratch: UnsafeMutablePointer<Float>) -> Void) {
        CPUBackend.useSingleThreadedBLAS()
        Parallel.ranges(count, grain: max(1, CPUBackend.blasGrain / max(work, 1))) { t0, t1 in
            var scratch = [Float](repeating: 0, count: max(scratchCount, 1))
            scratch.withUnsafeMutableBufferPointer { buffer in
                for task in t0..<t1 { body(task, buffer.baseAddress!) }
            }
        }
    }

    /// The query blocks of one head: `body(first, rows, keys)`, where `keys` is how many keys
    /// the block's last query may see (0: the block sees none).
    private static func forEachQueryBlock(_ d: AttentionDescriptor, block: Int, _ body: (_ first: Int, _ rows: Int, _ keys: Int) -> Void) {
        var q0 = 0
        while q0 < d.queryLength {
            let rows = min(block, d.queryLength - q0)
            body(q0, rows, min(d.keyLength, max(0, d.queryOffset + q0 + rows)))
            q0 += rows
        }
    }

    /// Scores `S = Q K^T` of `rows` queries (from `query`) against the first `keys` keys of one
    /// KV head, into `scores` (`rows x keys`, row stride `keys`).
    private static func queryKeyScores(_ d: AttentionDescriptor, query: UnsafePointer<Float>, rows: Int, keys: Int,
                                       key: UnsafePointer<Float>, into scores: UnsafeMutablePointer<Float>) {
        rl_blas_sgemm(0, 1, Int32(rows), Int32(keys), Int32(d.headDim), 1,
                    query, Int32(d.queryStrides.token), key, Int32(d.keyStrides.token), 0, scores, Int32(keys))
    }

    public func attention(_ d: AttentionDescriptor, query: BufferRef, key: BufferRef, value: BufferRef, keyMask: BufferRef?,
                          output: BufferRef, logSumExp: BufferRef) {
        if d.dtype != .f32 {
            var f = d
            f.dtype = .f32
            let q = widenedToF32(query, d.dtype, count: CPUBackend.span(batch: d.batch, length: d.queryLength, width: d.queryHeads * d.headDim, strides: d.queryStrides))
            let k = widenedToF32(key, d.dtype, count: CPUBackend.span(batch: d.batch, length: d.keyLength, width: d.kvHeads * d.headDim, strides: d.keyStrides))
            let v = widenedToF32(value, d.dtype, count: CPUBackend.span(batch: d.batch, length: d.keyLength, width: d.kvHeads * d.headDim, strides: d.valueStrides))
            return intoF32(output, d.dtype, count: d.batch * d.queryLength * d.queryHeads * d.headDim) {
                attention(f, query: q, key: k, value: v, keyMask: keyMask, output: $0, logSumExp: logSumExp)
            }
        }
        let group = d.queryHeads / d.kvHeads
        let qp = query.f32, kp = key.f32, vp = value.f32, op = output.f32, lp = logSumExp.f32
        let maskBase = keyMask?.i32
        let outTokenStride = d.queryHeads * d.headDim
        let block = min(CPUBackend.queryBlock, max(d.queryLength, 1))
        // One task per (sequence, query head): each writes only its head's outputs.
        forEachAttentionTask(count: d.batch * d.queryHeads, work: 2 * d.queryLength * d.keyLength * d.headDim,
                             scratchCount: block * max(d.keyLength, 1)) { task, sp in
            let b = task / d.queryHeads, h = task % d.queryHeads, g = h / group
            let mask = maskBase.map { $0 + b * d.keyMaskStride }
            let kh = kp + b * d.keyStrides.batch + g * d.headDim
            let vh = vp + b * d.valueStrides.batch + g * d.headDim
            let qh = qp + b * d.queryStrides.batch + h * d.headDim
            let oh = op + b * d.queryLength * outTokenStride + h * d.headDim
            let lh = lp + (b * d.queryHeads + h) * d.queryLength
            CPUBackend.forEachQueryBlock(d, block: block) { q0, rows, cols in
                if cols > 0 {
                    CPUBackend.queryKeyScores(d, query: qh + q0 * d.queryStrides.token, rows: rows, keys: cols, key: kh, into: sp)
                }
                rl_attention_softmax_f32(sp, cols, q0, rows, cols, d.queryOffset, mask, d.scale, lh + q0)
                if cols > 0 {
                    rl_blas_sgemm(0, 0, Int32(rows), Int32(d.headDim), Int32(cols), 1,
                                sp, Int32(cols), vh, Int32(d.valueStrides.token), 0,
                                oh + q0 * outTokenStride, Int32(outTokenStride))
                } else {
                    for r in 0..<rows { (oh + (q0 + r) * outTokenStride).update(repeating: 0, count: d.headDim) }
                }
            }
        }
    }

    public func attentionBackward(_ d: AttentionDescriptor, query: BufferRef, key: BufferRef, value: BufferRef, keyMask: BufferRef?,
                                  output: BufferRef, logSumExp: BufferRef, gradOutput: BufferRef,
                                  gradQuery: BufferRef, gradKey: BufferRef, gradValue: BufferRef) {
        let group = d.queryHeads / d.kvHeads
        let qp = query.f32, kp = key.f32, vp = value.f32, op = output.f32, lp = logSumExp.f32, dop = gradOutput.f32
        let dqp = gradQuery.f32, dkp = gradKey.f32, dvp = gradValue.f32
        let maskBase = keyMask?.i32
        let qTok = d.queryHeads * d.headDim, kvTok = d.kvHeads * d.headDim
        fill(gradKey, count: d.batch * d.keyLength * kvTok, dtype: .f32, value: 0)
        fill(gradValue, count: d.batch * d.keyLength * kvTok, dtype: .f32, value: 0)
        let block = min(CPUBackend.queryBlock, max(d.queryLength, 1))
        let scoresCount = block * max(d.keyLength, 1)
        // One task per (sequence, KV head): it owns that head's key and value gradients and the
        // query gradients of the query heads that share it.
        forEachAttentionTask(count: d.batch * d.kvHeads, work: 5 * group * d.queryLength * d.keyLength * d.headDim,
                             scratchCount: 2 * scoresCount + block) { task, sp in
            let b = task / d.kvHeads, g = task % d.kvHeads
            let dpp = sp + scoresCount, deltap = dpp + scoresCount
            let mask = maskBase.map { $0 + b * d.keyMaskStride }
            let kh = kp + b * d.keyStrides.batch + g * d.headDim
            let vh = vp + b * d.valueStrides.batch + g * d.headDim
            let dkh = dkp + b * d.keyLength * kvTok + g * d.headDim
            let dvh = dvp + b * d.keyLength * kvTok + g * d.headDim
            for h in (g * group)..<((g + 1) * group) {
                let qh = qp + b * d.queryStrides.batch + h * d.headDim
                let oh = op + b * d.queryLength * qTok + h * d.headDim
                let doh = dop + b * d.queryLength * qTok + h * d.headDim
                let dqh = dqp + b * d.queryLength * qTok + h * d.headDim
                let lh = lp + (b * d.queryHeads + h) * d.queryLength
                CPUBackend.forEachQueryBlock(d, block: block) { q0, rows, cols in
                    guard cols > 0 else {
                        for r in 0..<rows { (dqh + (q0 + r) * qTok).update(repeating: 0, count: d.headDim) }
                        return
                    }
                    for r in 0..<rows {
                        var acc: Float = 0
                        let o = oh + (q0 + r) * qTok, dO = doh + (q0 + r) * qTok
                        for i in 0..<d.headDim { acc += o[i] * dO[i] }
                        deltap[r] = acc
                    }
                    // S = Q K^T, dP = dO V^T
                    CPUBackend.queryKeyScores(d, query: qh + q0 * d.queryStrides.token, rows: rows, keys: cols, key: kh, into: sp)
                    rl_blas_sgemm(0, 1, Int32(rows), Int32(cols), Int32(d.headDim), 1,
                                doh + q0 * qTok, Int32(qTok), vh, Int32(d.valueStrides.token), 0, dpp, Int32(cols))
                    rl_attention_softmax_backward_f32(sp, cols, dpp, cols, q0, rows, cols, d.queryOffset, mask, d.scale, lh + q0, deltap)
                    // dV += P^T dO ; dQ = dS K ; dK += dS^T Q
                    rl_blas_sgemm(1, 0, Int32(cols), Int32(d.headDim), Int32(rows), 1,
                                sp, Int32(cols), doh + q0 * qTok, Int32(qTok), 1, dvh, Int32(kvTok))
                    rl_blas_sgemm(0, 0, Int32(rows), Int32(d.headDim), Int32(cols), 1,
                                dpp, Int32(cols), kh, Int32(d.keyStrides.token), 0, dqh + q0 * qTok, Int32(qTok))
                    rl_blas_sgemm(1, 0, Int32(cols), Int32(d.headDim), Int32(rows), 1,
                                dpp, Int32(cols), qh + q0 * d.queryStrides.token, Int32(d.queryStrides.token), 1, dkh, Int32(kvTok))
                }
            }
        }
    }
}
