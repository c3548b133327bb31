extension CUDABackend {
    /// The `RLPagedAttention` struct of `attention.cu`.
    static func pagedAttentionArgumentBytes(_ d: PagedAttentionDescriptor) -> [UInt8] {
        var words: [Int64] = [d.batch, d.queryHeads, d.kvHeads, d.headDim, d.blockSize, d.blockTableStride].map { Int64($0) }
        words.append(scaleAndDType(d.scale, d.dtype))
        return words.withUnsafeBytes { Array($0) }
    }

    public func pagedDecodeAttention(_ d: PagedAttentionDescriptor, query: BufferRef, keyBlocks: BufferRef, valueBlocks: BufferRef,
                                     blockTables: BufferRef, lengths: BufferRef, output: BufferRef) {
        precondition(d.headDim <= 256, "CUDA attention supports head dimensions up to 256")
        guard d.batch > 0, d.queryHeads > 0 else { return }
        let group = d.queryHeads / d.kvHeads, w = CUDABackend.attentionWarps, t = CUDABackend.attentionTile
        let shared = (2 * t * (d.headDim + 1) + w * d.headDim) * 4
        launch("rl_paged_attention_decode", grid: ((group + w - 1) / w, d.kvHeads, d.batch), block: 32 * w, sharedBytes: shared, [
            Argument(bytes: CUDABackend.pagedAttentionArgumentBytes(d)), .ptr(query.cudaAddress(d.dtype)), .ptr(keyBlocks.cudaAddress(d.dtype)),
            .ptr(valueBlocks.cudaAddress(d.dtype)), .ptr(blockTables.cudaAddress(.i32)), .ptr(lengths.cudaAddress(.i32)),
            .ptr(output.cudaAddress(d.dtype)),
        ])
    }
}
