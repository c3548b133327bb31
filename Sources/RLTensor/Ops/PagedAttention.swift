extension Tensor {
    /// Decode attention over a paged KV cache: one query token per sequence against keys and
    /// values kept in fixed-size blocks of shared pools (sequences may share blocks).
    ///
    /// `query` is `[batch, 1, queryHeads, headDim]` (or `[batch, queryHeads, headDim]`);
    /// `keyBlocks`/`valueBlocks` are `[blocks, blockSize, kvHeads, headDim]`; `blockTables` is i32
    /// `[batch, tableLength]` (block indices, entries past a sequence's blocks unused) and
    /// `lengths` i32 `[batch]`. Sequence `b` attends to its keys `0 ..< lengths[b]` — key `j` in
    /// slot `j % blockSize` of block `blockTables[b, j / blockSize]` — with the softmax of the
    /// query-key products times `scale` (default `1 / sqrt(headDim)`); `maxLength` must be at
    /// least every length. Same result as `attention` with `queryOffset = length - 1` over the
    /// sequence's keys laid out contiguously (up to float rounding). Records nothing for autograd.
    /// Query and pools are f32, or all bf16 (a bf16 KV cache, computed in f32). Returns
    /// `[batch, 1, queryHeads, headDim]` of their type.
    public static func pagedDecodeAttention(query: Tensor, keyBlocks: Tensor, valueBlocks: Tensor, blockTables: Tensor,
                                            lengths: Tensor, maxLength: Int, scale: Float? = nil) -> Tensor {
        let dtype = activationType("pagedDecodeAttention", [query, keyBlocks, valueBlocks])
        precondition(keyBlocks.rank == 4 && keyBlocks.shape == valueBlocks.shape,
                     "pagedDecodeAttention: key blocks \(keyBlocks.shape) and value blocks \(valueBlocks.shape) disagree")
        let (blockSize, hkv, d) = (keyBlocks.shape[1], keyBlocks.shape[2], keyBlocks.shape[3])
        precondition((query.rank == 4 && query.shape[1] == 1) || query.rank == 3, "pagedDecodeAttention: query \(query.shape) is not one token per sequence")
        let (b, hq) = (query.shape[0], query.shape[query.rank - 2])
        precondition(query.shape.last == d && hkv > 0 && hq % hkv == 0, "pagedDecodeAttention: query \(query.shape) does not fit blocks \(keyBlocks.shape)")
        precondition(blockTables.dtype == .i32 && blockTables.rank == 2 && blockTables.shape[0] == b
                     && lengths.dtype == .i32 && lengths.shape == [b], "pagedDecodeAttention: block tables \(blockTables.shape) or lengths \(lengths.shape) do not fit \(b) sequences")
        precondition(maxLength <= blockTables.shape[1] * blockSize, "pagedDecodeAttention: \(maxLength) tokens do not fit \(blockTables.shape[1]) blocks")
        var descriptor = PagedAttentionDescriptor(batch: b, queryHeads: hq, kvHeads: hkv, headDim: d, blockSize: blockSize,
                                                  blockTableStride: blockTables.shape[1], maxLength: maxLength,
                                                  scale: scale ?? 1 / Float(d).squareRoot())
        descriptor.dtype = dtype
        let q = query.contiguous(), k = keyBlocks.contiguous(), v = valueBlocks.contiguous()
        let tables = blockTables.contiguous(), lens = lengths.contiguous()
        let out = Tensor(uninitialized: [b, 1, hq, d], dtype: dtype, device: query.device)
        query.backend.pagedDecodeAttention(descriptor, query: q.ref, keyBlocks: k.ref, valueBlocks: v.ref, blockTables: tables.ref,
                                           lengths: lens.ref, output: out.ref)
        return out
    }
}
