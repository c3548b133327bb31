import RLModel
import RLTensor

extension Bench {
    /// One prompt's group of `samples` decoded with each KV cache: its bytes and the decode speed.
    struct PagedComparison {
        /// Bytes of keys and values held once the group is expanded (contiguous: `samples` rows of
        /// prompt + new tokens; paged: the blocks in use at the end, their peak).
        var contiguousBytes: Int
        var pagedBytes: Int
        /// Median seconds of one decode step (`forward` only) of the whole group.
        var contiguousStep: Double
        var pagedStep: Double
        /// Largest difference of the last step's logits between the two caches.
        var logitDifference: Float
    }

    /// Prefills one `promptLength`-token random prompt, expands it to `samples` sequences (the
    /// contiguous cache copies its rows; the paged cache forks its blocks) and times `newTokens`
    /// decode steps of the same tokens through each cache.
    static func pagedDecode(model: DecoderModel, promptLength: Int, samples: Int, newTokens: Int, blockSize: Int,
                            reps: Int) -> PagedComparison {
        let config = model.config
        let prompt = randomIDs(promptLength, vocab: config.vocabSize, seed: 11)
        let steps = (0..<newTokens).map { randomIDs(samples, vocab: config.vocabSize, seed: 100 + UInt64($0)) }
        // Inputs below fit the caches by construction (hence try!).
        let prefill = KVCache(config: config, batch: 1, capacity: promptLength + newTokens)
        _ = try! model.forward(tokens: prompt, cache: prefill)
        var contiguousTimes: [Double] = [], pagedTimes: [Double] = []
        var lastLogits: ([Float], [Float]) = ([], [])
        var peakBlocks = 0
        for _ in 0..<(reps + 1) {
            let contiguous = prefill.selectRows([Int](repeating: 0, count: samples))
            var times: [Double] = []
            for tokens in steps {
                var logits = Tensor.zeros([1])
                times.append(seconds { logits = try! model.forward(tokens: tokens, cache: contiguous) })
                lastLogits.0 = tokens == steps.last ? logits.toFloatArray() : []
            }
            contiguousTimes.append(median(times))
            let blocksNeeded = promptLength / blockSize + samples * ((promptLength + newTokens + blockSize - 1) / blockSize - promptLength / blockSize)
            let paged = try! PagedKVCache(config: config, blockCount: blocksNeeded, blockSize: blockSize)
            let stored = try! paged.addSequence(copying: prefill, row: 0)
            let ids = (0..<samples).map { _ in try! paged.fork(stored) }
            try! paged.release(stored)
            times = []
            for tokens in steps {
                var logits = Tensor.zeros([1])
                times.append(seconds { logits = try! model.forward(tokens: tokens, pagedCache: paged, sequences: ids) })
                peakBlocks = max(peakBlocks, paged.usedBlocks)
                lastLogits.1 = tokens == steps.last ? logits.toFloatArray() : []
            }
            pagedTimes.append(median(times))
        }
        let perToken = 2 * config.numHiddenLayers * config.numKeyValueHeads * config.headDim * MemoryLayout<Float>.size
        return PagedComparison(contiguousBytes: samples * (promptLength + newTokens) * perToken,
                               pagedBytes: peakBlocks * PagedKVCache.bytesPerBlock(config: config, blockSize: blockSize),
                               contiguousStep: median(Array(contiguousTimes.dropFirst())), pagedStep: median(Array(pagedTimes.dropFirst())),
                               logitDifference: zip(lastLogits.0, lastLogits.1).map { abs($0 - $1) }.max() ?? 0)
    }
}
