import RLTensor

/// How `Generator` keeps keys and values in a `PagedKVCache` (`GenerationOptions.pagedCache`):
/// each prompt's KV is stored once and shared by its samples, finished sequences free their
/// blocks, and prompts beyond the budget are admitted as blocks free up (continuous batching).
public struct PagedCacheOptions: Sendable, Equatable {
    /// Tokens per block (≥ 1; default 16).
    public var blockSize: Int
    /// The most tokens the cache holds at once, over all sequences (≥ `blockSize`; rounded down
    /// to whole blocks). A prompt is admitted only when its group's worst case (all samples
    /// reaching `maxNewTokens`) fits beside the groups already running, so generation never runs
    /// out of blocks mid-way. Nil (the default): room for every prompt at once. See
    /// `maxCachedTokens(fittingIn:config:blockSize:)` to plan it from free memory.
    public var maxCachedTokens: Int?

    public init(blockSize: Int = 16, maxCachedTokens: Int? = nil) {
        self.blockSize = blockSize
        self.maxCachedTokens = maxCachedTokens
    }

    /// The tokens a paged cache of `config`'s keys and values (of `activationType`, every layer)
    /// can hold in `bytes` of memory, in whole blocks of `blockSize` (≥ 1): e.g. a share of
    /// `MemoryPlan.availableMemory(on:)` left after the weights. 0 when not even one block fits.
    public static func maxCachedTokens(fittingIn bytes: Int, config: ModelConfig, blockSize: Int = 16, activationType: DType = .f32) -> Int {
        max(0, bytes / PagedKVCache.bytesPerBlock(config: config, blockSize: max(blockSize, 1), activationType: activationType)) * max(blockSize, 1)
    }
}
