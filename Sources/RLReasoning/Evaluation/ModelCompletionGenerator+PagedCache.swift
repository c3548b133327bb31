import RLModel
import RLTensor

extension ModelCompletionGenerator {
    /// A paged KV cache whose budget is `memoryFraction` (in (0, 1]) of the memory the model's
    /// device has left beside its weights: `MemoryPlan.availableMemory(on:)` (which counts what
    /// this process already holds) minus the parameters' bytes, in whole blocks of `blockSize`
    /// (≥ 1; default 16). The rest is left for the prefill's activations and the logits. When the
    /// device cannot say how much memory it has, `maxCachedTokens` is nil: room for every prompt
    /// of a batch at once.
    public func pagedCache(memoryFraction: Double, blockSize: Int = 16) -> PagedCacheOptions {
        guard let available = MemoryPlan.availableMemory(on: model.device) else { return PagedCacheOptions(blockSize: blockSize) }
        let weights = model.parameters.values.reduce(0) { $0 + $1.count * $1.dtype.byteSize }
        let spare = Double(max(0, available - weights)) * memoryFraction
        return PagedCacheOptions(blockSize: blockSize,
                                 maxCachedTokens: PagedCacheOptions.maxCachedTokens(fittingIn: Int(spare), config: model.config, blockSize: blockSize))
    }
}
