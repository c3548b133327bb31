import RLModel

// The paged KV cache of GRPO rollouts (`paged_kv_cache`): how much one group and one micro-step
// may need, and the budget the memory plan gives it.

extension GRPOConfiguration {
    /// The most tokens (whole blocks of `kvCacheBlockSize`) one group may hold at once in the
    /// paged cache, over every prompt length up to `maxPromptLength`. A prompt one block longer
    /// has exactly one more worst-case block, so the largest lies among the last
    /// `kvCacheBlockSize` lengths. Expects `kvCacheBlockSize` ≥ 1.
    var pagedGroupTokens: Int {
        let layout = PagedCacheOptions(blockSize: kvCacheBlockSize)
        let lengths = max(1, maxPromptLength - kvCacheBlockSize + 1)...max(1, maxPromptLength)
        let blocks = lengths.map { layout.worstCaseBlocks(promptLength: $0, samples: numGenerations, maxNewTokens: maxCompletionLength) }
        return blocks.max()! * kvCacheBlockSize
    }

    /// What `pagedGroupTokens` is the worst case of, for error messages.
    var pagedGroupDescription: String {
        "\(numGenerations) completions of up to \(maxCompletionLength) tokens after a prompt of up to \(maxPromptLength) "
            + "(blocks of \(kvCacheBlockSize) tokens)"
    }
}

extension MemoryPlan {
    /// The paged cache's budget and the plan's parts with its "KV cache" part sized to it.
    ///
    /// The budget is `kvCacheMaxTokens`, else `kvCacheMemoryFraction` of what the peak of the other
    /// parts leaves of `availableBytes` (so the cache fits beside the largest phase), else (memory
    /// unknown) none: every group of the micro-step at once. It is capped at that worst case, which
    /// is all a micro-step can use. `spareBytes` is the memory the fraction was taken of.
    static func pagedCache(parts: [Part], model: ModelConfig, configuration c: GRPOConfiguration, availableBytes: Int?)
        -> (parts: [Part], options: PagedCacheOptions, spareBytes: Int?) {
        let blockSize = c.kvCacheBlockSize
        let everyGroup = c.promptsPerMicroStep * c.pagedGroupTokens
        var budget = c.kvCacheMaxTokens, spare: Int?
        let others = parts.filter { $0.name != "KV cache" }
        if budget == nil, let availableBytes {
            let left = max(0, availableBytes - peak(of: others).bytes)
            spare = left
            budget = PagedCacheOptions.maxCachedTokens(fittingIn: Int(c.kvCacheMemoryFraction * Double(left)), config: model, blockSize: blockSize)
        }
        budget = budget.map { $0 / blockSize * blockSize }  // whole blocks, as the generator uses it
        let held = min(budget ?? everyGroup, everyGroup)
        let groups = held / c.pagedGroupTokens
        let cache = Part(name: "KV cache", bytes: held / blockSize * PagedKVCache.bytesPerBlock(config: model, blockSize: blockSize),
                         phase: "generation",
                         detail: "paged: \(held) tokens in blocks of \(blockSize), \(min(groups, c.promptsPerMicroStep)) of "
                             + "\(c.promptsPerMicroStep) groups at once")
        let planned = parts.map { $0.name == "KV cache" ? cache : $0 }
        return (planned, PagedCacheOptions(blockSize: blockSize, maxCachedTokens: budget.map { min($0, everyGroup) }), spare)
    }

    /// The line `table()` adds for a paged cache: its budget and where it came from.
    var pagedCacheSummary: String? {
        guard let pagedCache else { return nil }
        let c = configuration
        let everyGroup = c.promptsPerMicroStep * c.pagedGroupTokens
        let source: String
        if let cap = c.kvCacheMaxTokens {
            source = "kv_cache_max_tokens \(cap)"
        } else if let pagedCacheSpareBytes {
            let share = PagedCacheOptions.maxCachedTokens(fittingIn: Int(c.kvCacheMemoryFraction * Double(pagedCacheSpareBytes)),
                                                          config: model, blockSize: c.kvCacheBlockSize)
            source = "kv_cache_memory_fraction \(c.kvCacheMemoryFraction) of the \(MemoryPlan.gibibytes(pagedCacheSpareBytes)) "
                + "the other parts leave: \(share) tokens"
        } else {
            source = "available memory unknown"
        }
        let tokens = pagedCache.maxCachedTokens ?? everyGroup
        return "  paged KV cache: \(tokens) tokens (\(source)); one group needs up to \(c.pagedGroupTokens), "
            + "every group of a micro-step \(everyGroup)"
    }

    /// Whether the paged cache planned from free memory cannot hold one group's worst case.
    var pagedCacheTooSmall: Bool {
        guard pagedCacheSpareBytes != nil, let tokens = pagedCache?.maxCachedTokens else { return false }
        return tokens < configuration.pagedGroupTokens
    }

    /// Throws `TrainingError.invalidSetting` naming `kv_cache_memory_fraction` when the paged
    /// cache planned from free memory cannot hold one group's worst case (a `kv_cache_max_tokens`
    /// that small is refused by `GRPOConfiguration.validate()`). Does nothing without a paged cache.
    public func checkPagedCache() throws {
        let c = configuration
        guard pagedCacheTooSmall, let tokens = pagedCache?.maxCachedTokens, let pagedCacheSpareBytes else { return }
        let n = c.settingName
        throw TrainingError.invalidSetting(key: n("kv_cache_memory_fraction"), reason: "\(c.kvCacheMemoryFraction) of the "
            + "\(MemoryPlan.gibibytes(pagedCacheSpareBytes)) the rest of the memory plan leaves holds \(tokens) tokens, but "
            + "\(c.pagedGroupDescription) need up to \(c.pagedGroupTokens); raise it, set \(n("kv_cache_max_tokens")), or lower "
            + "\(n("num_generations")) or \(n("max_completion_length"))")
    }
}
