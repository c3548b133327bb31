import RLTensor

extension Generator {
    /// A sequence being decoded: its index in the results, its id in the paged cache and how many
    /// tokens it has drawn (its sampler step).
    private struct LiveSequence {
        var index: Int
        var cacheID: Int
        var step: Int
    }

    /// `generate` with a `PagedKVCache` (`options.pagedCache`, checked).
    ///
    /// Prompts are admitted in order, as many at a time as their worst case fits in the block
    /// budget beside the groups already running: the admitted prompts are left-padded and
    /// prefilled together through a contiguous cache, each prompt's real tokens stored once in
    /// blocks and forked into its `samplesPerPrompt` samples (which share those blocks; the
    /// partly filled last block is copied per sample on its first write). Every step decodes all
    /// live sequences together; a finished sequence releases its blocks, and the next prompts are
    /// admitted once enough are free. A prompt's worst case
    /// (`PagedCacheOptions.worstCaseBlocks`) is its full blocks once plus, per sample, the blocks
    /// from there to `prompt + maxNewTokens - 1` tokens (the last token is never fed back); the
    /// pool holds at most every prompt's worst case at once, however large the budget. Sequences keep their index's seed and draw step, so results do not depend on
    /// the budget or on which prompts share a step (up to float rounding in the log-probabilities).
    func generatePaged(prompts: [[Int32]], options: GenerationOptions, paging: PagedCacheOptions,
                       onToken: ((Int, Int32) throws -> Void)?) throws -> [GeneratedSequence] {
        let g = options.samplesPerPrompt, vocab = model.config.vocabSize, blockSize = paging.blockSize
        var sequences = (0..<(prompts.count * g)).map {
            GeneratedSequence(promptIndex: $0 / g, sampleIndex: $0 % g, tokens: [], logProbs: [], finishReason: .length)
        }
        guard options.maxNewTokens > 0 else { return sequences }
        let worstCase = prompts.map { paging.worstCaseBlocks(promptLength: $0.count, samples: g, maxNewTokens: options.maxNewTokens) }
        let sharedBlocks = prompts.map { $0.count / blockSize }
        let sampleBlocks = prompts.indices.map { (worstCase[$0] - sharedBlocks[$0]) / g }
        // A budget beyond every prompt's worst case at once would only allocate blocks nobody uses.
        let everyPrompt = worstCase.reduce(0, +)
        let blockCount = min(paging.maxCachedTokens.map { $0 / blockSize } ?? everyPrompt, everyPrompt)
        if let p = worstCase.indices.max(by: { worstCase[$0] < worstCase[$1] }), worstCase[p] > blockCount {
            throw LanguageModelError.invalidArgument("pagedCache", "maxCachedTokens \(paging.maxCachedTokens ?? 0) holds \(blockCount) blocks of \(blockSize) tokens; "
                + "prompt \(p) (\(prompts[p].count) tokens) with \(g) samples of up to \(options.maxNewTokens) tokens may need \(worstCase[p] * blockSize)")
        }
        let cache = try model.makePagedCache(blockCount: blockCount, blockSize: blockSize, activationType: options.activationType)
        // The widest table any step needs: a sequence's last fed token is its prompt + maxNewTokens - 1st.
        let graph = paging.recordsDecodeStep ? PagedDecodeGraph(minimumTableWidth: prompts.indices.map { sharedBlocks[$0] + sampleBlocks[$0] }.max() ?? 0) : nil
        let sampler = TokenSampler(options.sampling)
        let seeds = options.sequenceSeeds ?? sequences.indices.map { Generator.sequenceSeed(options.seed, $0) }
        var live: [LiveSequence] = [], logits: Tensor?
        var nextPrompt = 0, reservedBlocks = 0
        var samplesLeft = [Int](repeating: g, count: prompts.count)
        while true {
            var admitted: [Int] = []
            while nextPrompt < prompts.count, reservedBlocks + worstCase[nextPrompt] <= blockCount {
                reservedBlocks += worstCase[nextPrompt]
                admitted.append(nextPrompt)
                nextPrompt += 1
            }
            if !admitted.isEmpty {
                let batch = LeftPaddedBatch(admitted.map { prompts[$0] })
                let prefill = model.makeCache(batch: admitted.count, capacity: batch.length, activationType: options.activationType)
                let promptLogits = try model.forward(tokens: batch.ids, mask: batch.mask, cache: prefill).reshaped([admitted.count, vocab])
                var rows = logits.map { [$0] } ?? []
                for (row, prompt) in admitted.enumerated() {
                    let stored = try cache.addSequence(copying: prefill, row: row)
                    for sample in 0..<g { live.append(LiveSequence(index: prompt * g + sample, cacheID: try cache.fork(stored), step: 0)) }
                    try cache.release(stored)
                    rows += Array(repeating: promptLogits.sliced(axis: 0, row..<(row + 1)), count: g)
                }
                logits = Tensor.concat(rows, axis: 0)
            }
            guard let stepLogits = logits, !live.isEmpty else { break }
            // Sequences admitted together share a draw step and sit next to each other.
            var picks: [(token: Int32, logProb: Float)] = []
            var start = 0
            while start < live.count {
                let end = live[start...].firstIndex { $0.step != live[start].step } ?? live.count
                let group = live[start..<end]
                let histories = group.map { options.sampling.repetitionPenalty == 1 ? [] : prompts[$0.index / g] + sequences[$0.index].tokens }
                picks += try sampler.sample(rows: stepLogits.sliced(axis: 0, start..<end), histories: histories,
                                            seeds: group.map { seeds[$0.index] }, step: UInt64(live[start].step))
                start = end
            }
            var kept: [LiveSequence] = [], nextTokens: [Int32] = []
            for (entry, (token, logProb)) in zip(live, picks) {
                let i = entry.index
                sequences[i].tokens.append(token)
                sequences[i].logProbs.append(logProb)
                try onToken?(i, token)
                if options.stopTokenIDs.contains(token) {
                    sequences[i].finishReason = .eos
                } else if !options.stopStrings.isEmpty, let decode, options.stopStrings.contains(where: decode(sequences[i].tokens).contains) {
                    sequences[i].finishReason = .stop
                } else if entry.step + 1 < options.maxNewTokens {
                    kept.append(LiveSequence(index: i, cacheID: entry.cacheID, step: entry.step + 1))
                    nextTokens.append(token)
                    continue
                }
                try cache.release(entry.cacheID)
                let prompt = i / g
                samplesLeft[prompt] -= 1
                reservedBlocks -= sampleBlocks[prompt] + (samplesLeft[prompt] == 0 ? sharedBlocks[prompt] : 0)
            }
            live = kept
            if live.isEmpty {
                logits = nil
            } else if let graph {
                logits = try model.forward(tokens: nextTokens, pagedCache: cache, sequences: live.map(\.cacheID), graph: graph)
            } else {
                logits = try model.forward(tokens: nextTokens, pagedCache: cache, sequences: live.map(\.cacheID))
            }
        }
        if let decode {
            for i in sequences.indices { sequences[i].text = decode(sequences[i].tokens) }
        }
        return sequences
    }
}
