import CRLKernels

extension CPUBackend {
    public func pagedDecodeAttention(_ d: PagedAttentionDescriptor, query: BufferRef, keyBlocks: BufferRef, valueBlocks: BufferRef,
                                     blockTables: BufferRef, lengths: BufferRef, output: BufferRef) {
        let tasks = d.batch * d.queryHeads
        guard tasks > 0 else { return }
        let qp = query.f32, kp = keyBlocks.f32, vp = valueBlocks.f32, tp = blockTables.i32, lp = lengths.i32, op = output.f32
        // One task per (sequence, query head), each with its own score scratch.
        Parallel.ranges(tasks, grain: max(1, CPUBackend.blasGrain / max(2 * d.maxLength * d.headDim, 1))) { t0, t1 in
            var scores = [Float](repeating: 0, count: max(d.maxLength, 1))
            scores.withUnsafeMutableBufferPointer { scratch in
                rl_paged_attention_decode_f32(qp, kp, vp, tp, lp, op, t0, t1, d.queryHeads, d.kvHeads, d.headDim,
                                              d.blockSize, d.blockTableStride, d.scale, scratch.baseAddress!)
            }
        }
    }
}
