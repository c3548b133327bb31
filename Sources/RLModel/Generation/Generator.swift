import RLTensor

/// Why a sequence stopped.
public enum FinishReason: String, Sendable, Codable {
    /// An end-of-sequence token was sampled (it is the last token of the completion).
    case eos
    /// The token budget ran out.
    case length
    /// A stop string appeared in the text.
    case stop
}

/// Options of a generation run.
public struct GenerationOptions: Sendable {
    /// The most tokens generated per sequence (≥ 0; 0 generates nothing). An end token counts.
    public var maxNewTokens: Int
    /// How each token is chosen (default `.greedy`).
    public var sampling: SamplingParameters
    /// Samples drawn per prompt, ≥ 1 (GRPO's group size G; default 1).
    public var samplesPerPrompt: Int
    /// Token ids that end a sequence, e.g. `StopTokens.resolve(...)` or
    /// `LanguageModel.stopTokenIDs` (default none: only `maxNewTokens` ends it). The end token is
    /// kept as the completion's last token.
    public var stopTokenIDs: Set<Int32>
    /// Strings that end a sequence when they appear in its decoded text (default none; needs a
    /// `Generator` made with a decoder).
    public var stopStrings: [String]
    /// Seed of the run; each sequence derives its own stream from it and its index in the call
    /// (default 0).
    public var seed: UInt64
    /// One seed per sequence (prompt-major, then sample; exactly prompts × `samplesPerPrompt` of
    /// them), replacing `seed` when set: a sequence's draws then do not depend on which other
    /// sequences share the call, so a caller can give each sample a stable identity (evaluation
    /// resume, any batch size).
    public var sequenceSeeds: [UInt64]?
    /// Keep keys and values in a paged KV cache (`PagedCacheOptions`): each prompt's KV stored
    /// once for its samples, finished sequences' memory reused, prompts past the budget admitted
    /// as memory frees up. Nil (the default): one contiguous cache whose rows are copied per
    /// sample. Both draw the same tokens for the same seeds and give the same log-probabilities up
    /// to float rounding (their attention kernels sum in different orders; a draw can differ only
    /// where that rounding decides a near tie).
    public var pagedCache: PagedCacheOptions?
    /// The element type of the activations and the KV cache of the forward passes (default f32).
    /// bf16 halves their memory and traffic; every kernel still computes in f32 and the logits
    /// sampled from stay f32. It needs a model whose matrices are bf16
    /// (`inferenceCopy(matrices: .bf16)`). Tokens match the f32 run's except where bf16 rounding
    /// decides a near tie; log-probabilities differ by about bf16 precision.
    public var activationType: DType = .f32

    public init(maxNewTokens: Int, sampling: SamplingParameters = .greedy, samplesPerPrompt: Int = 1,
                stopTokenIDs: Set<Int32> = [], stopStrings: [String] = [], seed: UInt64 = 0) {
        self.maxNewTokens = maxNewTokens
        self.sampling = sampling
        self.samplesPerPrompt = samplesPerPrompt
        self.stopTokenIDs = stopTokenIDs
        self.stopStrings = stopStrings
        self.seed = seed
    }
}

/// One generated completion.
public struct GeneratedSequence: Sendable, Codable {
    /// The prompt it continues (its index in `prompts`).
    public var promptIndex: Int
    /// Which of the prompt's `samplesPerPrompt` samples it is.
    public var sampleIndex: Int
    /// Completion token ids (the stopping EOS included).
    public var tokens: [Int32]
    /// Log-probability of each completion token under the model (temperature 1).
    public var logProbs: [Float]
    /// Why it stopped: an end token, a stop string or the token budget.
    public var finishReason: FinishReason
    /// The decoded completion, when a decoder was given.
    public var text: String?
}

/// Batched sampling from a `CausalLanguageModel` with a shared, preallocated KV cache.
///
/// B prompts are left-padded and prefilled once; each prompt's cache rows are then shared by its
/// G samples; finished sequences leave the batch so they stop costing compute. With
/// `GenerationOptions.pagedCache` the KV lives in a `PagedKVCache` instead (see
/// `generatePaged`).
public struct Generator: Sendable {
    public let model: any CausalLanguageModel
    /// Turns completion ids into text (for stop strings and `GeneratedSequence.text`).
    public let decode: (@Sendable ([Int32]) -> String)?

    public init(model: any CausalLanguageModel, decode: (@Sendable ([Int32]) -> String)? = nil) {
        self.model = model
        self.decode = decode
    }

    /// The seed of sequence `index` of a run with `seed` (SplitMix64 finaliser).
    public static func sequenceSeed(_ seed: UInt64, _ index: Int) -> UInt64 {
        var z = seed &+ UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Generates `samplesPerPrompt` completions for every prompt; results are ordered by prompt,
    /// then sample. `onToken(sequenceIndex, token)` streams tokens as they are chosen; an error it
    /// throws (e.g. `CancellationError` from `Task.checkCancellation()`) stops generation and is
    /// rethrown.
    ///
    /// Throws `LanguageModelError.invalidArgument` when `prompts` is empty or holds an empty
    /// prompt or an id outside the vocabulary, `maxNewTokens` < 0, `samplesPerPrompt` < 1,
    /// `stopStrings` are given to a generator without a decoder, `sequenceSeeds` does not have
    /// one seed per sequence, `pagedCache` has a `blockSize` < 1 or a `maxCachedTokens` too small
    /// for some prompt's group, or `activationType` is neither f32 nor bf16 (or bf16 with a model
    /// whose matrices are not all bf16).
    public func generate(prompts: [[Int32]], options: GenerationOptions,
                         onToken: ((Int, Int32) throws -> Void)? = nil) throws -> [GeneratedSequence] {
        try check(prompts: prompts, options: options)
        if let paging = options.pagedCache { return try generatePaged(prompts: prompts, options: options, paging: paging, onToken: onToken) }
        let vocab = model.config.vocabSize
        let batch = LeftPaddedBatch(prompts)
        let promptLength = batch.length
        var cache = model.makeCache(batch: prompts.count, capacity: promptLength + max(options.maxNewTokens, 1),
                                    activationType: options.activationType)
        let promptLogits = try model.forward(tokens: batch.ids, mask: batch.mask, cache: cache).reshaped([prompts.count, vocab])

        let g = options.samplesPerPrompt
        let total = prompts.count * g
        var sequences = (0..<total).map { GeneratedSequence(promptIndex: $0 / g, sampleIndex: $0 % g, tokens: [], logProbs: [], finishReason: .length) }
        guard options.maxNewTokens > 0 else { return sequences }
        // Rows of the live batch map to sequences; each row starts from its prompt's logits.
        var active = Array(0..<total)
        cache = cache.selectRows(active.map { $0 / g })
        // Logits stay on the model's device: a device with its own sampler returns only the picks.
        var logits = g == 1 ? promptLogits : Tensor.concat(active.map { promptLogits.sliced(axis: 0, $0 / g..<($0 / g + 1)) }, axis: 0)
        let sampler = TokenSampler(options.sampling)
        let seeds = options.sequenceSeeds ?? (0..<total).map { Generator.sequenceSeed(options.seed, $0) }

        for step in 0..<options.maxNewTokens {
            var nextTokens: [Int32] = []
            var stillActive: [Int] = []
            var keptRows: [Int] = []
            let histories = active.map { options.sampling.repetitionPenalty == 1 ? [] : prompts[$0 / g] + sequences[$0].tokens }
            let picks = try sampler.sample(rows: logits, histories: histories, seeds: active.map { seeds[$0] }, step: UInt64(step))
            for (row, sequence) in active.enumerated() {
                let (token, logProb) = picks[row]
                sequences[sequence].tokens.append(token)
                sequences[sequence].logProbs.append(logProb)
                try onToken?(sequence, token)
                if options.stopTokenIDs.contains(token) {
                    sequences[sequence].finishReason = .eos
                } else if !options.stopStrings.isEmpty, let decode,
                          options.stopStrings.contains(where: decode(sequences[sequence].tokens).contains) {
                    sequences[sequence].finishReason = .stop
                } else if step + 1 < options.maxNewTokens {
                    stillActive.append(sequence)
                    keptRows.append(row)
                    nextTokens.append(token)
                }
            }
            if stillActive.isEmpty { break }
            if keptRows.count != active.count { cache = cache.selectRows(keptRows) }
            active = stillActive
            logits = try model.forward(tokens: nextTokens, cache: cache)
        }
        if let decode {
            for i in sequences.indices { sequences[i].text = decode(sequences[i].tokens) }
        }
        return sequences
    }

    private func check(prompts: [[Int32]], options: GenerationOptions) throws {
        func fail(_ argument: String, _ reason: String) -> LanguageModelError { .invalidArgument(argument, reason) }
        guard !prompts.isEmpty else { throw fail("prompts", "give at least one prompt") }
        if let empty = prompts.firstIndex(where: \.isEmpty) { throw fail("prompts", "prompt \(empty) is empty; every prompt needs a token") }
        for prompt in prompts { try model.checkTokenIDs(prompt, argument: "prompts") }
        guard options.maxNewTokens >= 0 else { throw fail("maxNewTokens", "must be at least 0, got \(options.maxNewTokens)") }
        guard options.samplesPerPrompt >= 1 else { throw fail("samplesPerPrompt", "must be at least 1, got \(options.samplesPerPrompt)") }
        guard options.stopStrings.isEmpty || decode != nil else {
            throw fail("stopStrings", "need a decoder: make the Generator with decode: (e.g. { tokenizer.decode($0) })")
        }
        let total = prompts.count * options.samplesPerPrompt
        if let seeds = options.sequenceSeeds, seeds.count != total {
            throw fail("sequenceSeeds", "must hold one seed per sequence (\(prompts.count) prompts × \(options.samplesPerPrompt) samples = \(total)), got \(seeds.count)")
        }
        if let paging = options.pagedCache, paging.blockSize < 1 {
            throw fail("pagedCache", "blockSize must be at least 1, got \(paging.blockSize)")
        }
        try model.checkActivationType(options.activationType, argument: "activationType")
    }
}
