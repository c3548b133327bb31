/// Shapes of decode attention over a paged KV cache: one query token per sequence, whose keys
/// and values sit in fixed-size blocks of a shared pool found through the sequence's block table.
///
/// Queries are contiguous `[batch, queryHeads, headDim]`; the key and value pools are contiguous
/// `[blocks, blockSize, kvHeads, headDim]`; block tables are i32 `[batch, blockTableStride]` and
/// lengths i32 `[batch]`. Sequence `b` attends to its keys `0 ..< lengths[b]` (its own new token
/// included, so causality is by construction); key `j` is slot `j % blockSize` of block
/// `blockTables[b, j / blockSize]`. A sequence of length 0 gives zeros. The output is contiguous
/// `[batch, queryHeads, headDim]`. Queries, pools and output are of `dtype` (f32, or bf16
/// activations and KV cache computed in f32).
public struct PagedAttentionDescriptor: Sendable, Equatable {
    /// Sequences, one query each.
    public var batch: Int
    public var queryHeads: Int
    public var kvHeads: Int
    public var headDim: Int
    /// Tokens per block.
    public var blockSize: Int
    /// Entries per block-table row (≥ the blocks of the longest sequence).
    public var blockTableStride: Int
    /// The longest of `lengths` (bounds the CPU kernel's score scratch).
    public var maxLength: Int
    /// Multiplies the query-key dot products (usually `1 / sqrt(headDim)`).
    public var scale: Float
    /// The element type of queries, key and value pools, and output (f32 or bf16).
    public var dtype: DType = .f32

    public init(batch: Int, queryHeads: Int, kvHeads: Int, headDim: Int, blockSize: Int, blockTableStride: Int,
                maxLength: Int, scale: Float) {
        self.batch = batch; self.queryHeads = queryHeads; self.kvHeads = kvHeads; self.headDim = headDim
        self.blockSize = blockSize; self.blockTableStride = blockTableStride; self.maxLength = maxLength; self.scale = scale
    }
}
