import CRLKernels

extension CPUBackend {
    public func pagedDecodeAttention(_ d: PagedAttentionDescriptor, query: BufferRef, keyBlocks: BufferRef, valueBlocks: BufferRef,
                                     blockTables: BufferRef, lengths: BufferRef, output: BufferRef) {
        let tasks = d.batch * d.queryHeads
        guard tasks > 0 else { return }
        if d.dtype != .f32 {
            var f = d
            f.dtype = .f32
            // The pools up to the last block any sequence reads.
            let tables = blockTables.i32, lengthsPointer = lengths.i32
            var blocks = 0
            for b in 0..<d.batch {
                let used = (Int(lengthsPointer[b]) + d.blockSize - 1) / d.blockSize
                for i in 0..<used { blocks = max(blocks, Int(tables[b * d.blockTableStride + i]) + 1) }
            }
            let poolCount = blocks * d.blockSize * d.kvHeads * d.headDim
            let q = widenedToF32(query, d.dtype, count: tasks * d.headDim)
            let k = widenedToF32(keyBlocks, d.dtype, count: poolCount), v = widenedToF32(valueBlocks, d.dtype, count: poolCount)
            return intoF32(output, d.dtype, count: tasks * d.headDim) {
                pagedDecodeAttention(f, query: q, keyBlocks: k, valueBlocks: v, blockTables: blockTables, lengths: lengths, output: $0)
            }
        }
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
