import RLTensor

/// How `Generator` keeps keys and values in a `PagedKVCache` (`GenerationOptions.pagedCache`):
/// each prompt's KV is stored once and shared by its samples, finished sequences free their
/// blocks, and prompts beyond the budget are admitted as blocks free up (continuous batching).
public struct PagedCacheOptions: Sendable, Equatable {
    /// Tokens per block (≥ 1; default 16).
    public var blockSize: Int
    /// The most tokens the cache holds at once, over all sequences (≥ `blockSize`; rounded down
    /// to whole blocks). The pool is never made larger than every prompt's worst case at once. A prompt is admitted only when its group's worst case (all samples
    /// reaching `maxNewTokens`) fits beside the groups already running, so generation never runs
    /// out of blocks mid-way. Nil (the default): room for every prompt at once. See
    /// `maxCachedTokens(fittingIn:config:blockSize:)` to plan it from free memory.
    public var maxCachedTokens: Int?
    /// Decode through a `PagedDecodeGraph` (default true): on CUDA each step of an unchanged
    /// batch replays one recorded graph instead of launching every kernel, with the block tables
    /// padded to the run's widest; the same tokens and log-probabilities as false (every step
    /// launched eagerly). No effect on the CPU beyond that padding.
    public var recordsDecodeStep: Bool

    public init(blockSize: Int = 16, maxCachedTokens: Int? = nil, recordsDecodeStep: Bool = true) {
        self.blockSize = blockSize
        self.maxCachedTokens = maxCachedTokens
        self.recordsDecodeStep = recordsDecodeStep
    }

    /// The most blocks one prompt's group holds at once: the prompt's full blocks (stored once and
    /// shared by its samples) plus, per sample, the blocks from there to `promptLength +
    /// maxNewTokens - 1` tokens (the last token is never fed back). `Generator` admits a prompt
    /// only when this many blocks are free, and refuses a `maxCachedTokens` below it for any
    /// prompt. Expects `blockSize` ≥ 1, `promptLength` ≥ 1, `samples` ≥ 1 and `maxNewTokens` ≥ 1.
    public func worstCaseBlocks(promptLength: Int, samples: Int, maxNewTokens: Int) -> Int {
        let shared = promptLength / blockSize
        return shared + samples * ((promptLength + maxNewTokens - 1 + blockSize - 1) / blockSize - shared)
    }

    /// The tokens a paged cache of `config`'s keys and values (of `activationType`, every layer)
    /// can hold in `bytes` of memory, in whole blocks of `blockSize` (≥ 1): e.g. a share of
    /// `MemoryPlan.availableMemory(on:)` left after the weights. 0 when not even one block fits.
    public static func maxCachedTokens(fittingIn bytes: Int, config: ModelConfig, blockSize: Int = 16, activationType: DType = .f32) -> Int {
        max(0, bytes / PagedKVCache.bytesPerBlock(config: config, blockSize: max(blockSize, 1), activationType: activationType)) * max(blockSize, 1)
    }
}
