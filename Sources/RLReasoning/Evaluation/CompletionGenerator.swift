import FoundationEssentials
import RLModel
import RLTensor

/// One finished completion.
public struct GeneratedCompletion: Sendable {
    /// The completion text (special tokens such as EOS removed).
    public var text: String
    /// Number of generated tokens (the stopping EOS included).
    public var tokenCount: Int
    public var finishReason: FinishReason

    public init(text: String, tokenCount: Int, finishReason: FinishReason) {
        self.text = text
        self.tokenCount = tokenCount
        self.finishReason = finishReason
    }
}

/// Turns user messages into sampled completions. The harness talks to the model only through
/// this protocol, so scoring can be tested with a canned generator.
public protocol CompletionGenerator {
    /// How many prompts (each with all its samples) to hand over in one call.
    var preferredBatchSize: Int { get }

    /// Generates `samplesPerPrompt` completions of each user message (`messages[i]` is the
    /// content of the single user turn). `onCompletion(promptIndex, sampleIndex, completion)`
    /// must be called once per completion, as soon as it is finished, in any order. `seeds` holds
    /// one seed per completion (prompt-major, then sample) and fixes its sampling, whatever else
    /// shares the call.
    func generate(messages: [String], samplesPerPrompt: Int, seeds: [UInt64],
                  onCompletion: (Int, Int, GeneratedCompletion) throws -> Void) throws

    /// Throws what `generate` would throw for `messages` with `samplesPerPrompt` samples each
    /// before generating anything (e.g. a prompt too long for the model): `EvaluationRunner` asks
    /// it about every pending problem before its first batch. The default accepts everything.
    func check(messages: [String], samplesPerPrompt: Int) throws
}

extension CompletionGenerator {
    public func check(messages: [String], samplesPerPrompt: Int) throws {}
}

/// `CompletionGenerator` over a causal language model and its tokenizer, using RLModel's batched
/// `Generator`: the prompts of a call are prefilled together and decoded as one batch.
public struct ModelCompletionGenerator: CompletionGenerator {
    public let model: any CausalLanguageModel
    public let tokenizer: Tokenizer
    public var maxNewTokens: Int
    public var sampling: SamplingParameters
    /// Token ids that end a completion: the tokenizer's EOS, the model config's and the
    /// checkpoint's `generation_config.json` EOS ids (`StopTokens`), plus any extra ones given.
    public var stopTokenIDs: Set<Int32>
    public var preferredBatchSize: Int
    /// Keep keys and values in a paged KV cache (`GenerationOptions.pagedCache`): each prompt's
    /// KV stored once for its samples, finished completions' blocks reused, and prompts beyond the
    /// budget admitted as blocks free up. Nil (the default): the contiguous cache. The same
    /// completions either way for the same seeds (up to near ties float rounding decides).
    /// `pagedCache(memoryFraction:blockSize:)` plans a budget from free memory. A `blockSize`
    /// below 1, or a `maxCachedTokens` that cannot hold some prompt's samples at their worst
    /// case, is an `EvaluationError.invalidOption` from `check` and `generate`.
    public var pagedCache: PagedCacheOptions?

    public init(model: any CausalLanguageModel, tokenizer: Tokenizer, maxNewTokens: Int, sampling: SamplingParameters,
                extraStopTokenIDs: Set<Int32> = [], batchSize: Int = 16) throws {
        do { try tokenizer.checkChatTemplate() } catch ChatTemplateError.noTemplate {
            throw EvaluationError.invalidOption("the tokenizer has no chat template (tokenizer_config.json \"chat_template\"); the evaluation prompt needs one")
        }
        if tokenizer.vocabularySize > model.config.vocabSize {
            throw EvaluationError.invalidOption("the tokenizer has \(tokenizer.vocabularySize) tokens but the model only "
                + "\(model.config.vocabSize) embeddings; they do not belong together")
        }
        self.model = model
        self.tokenizer = tokenizer
        self.maxNewTokens = maxNewTokens
        self.sampling = sampling
        self.stopTokenIDs = extraStopTokenIDs.union(StopTokens.resolve(tokenizer: tokenizer, config: model.config, generationConfig: nil))
        self.preferredBatchSize = max(1, batchSize)
    }

    /// Loads `<folder>/config.json`, the weights, the tokenizer files and, when present,
    /// `generation_config.json` (its EOS ids also stop generation); `adapter`, a PEFT LoRA folder, is attached live.
    public static func load(from folder: URL, adapter: URL? = nil, weightType: DType = .f32, device: Device = .cpu, maxNewTokens: Int,
                            sampling: SamplingParameters, batchSize: Int = 16) throws -> ModelCompletionGenerator {
        let model = try ModelLoader.load(from: folder, weightType: weightType, device: device)
        if let adapter { try model.attachAdapters(try LoRAAdapters.load(from: adapter, model: model.config, device: device)) }
        guard weightsAreFinite(model.parameters) else {
            throw EvaluationError.invalidOption("\(folder.path): the model's weights hold NaN or infinite values; its completions would be meaningless")
        }
        let tokenizer = try Tokenizer(directory: folder)
        let stops = StopTokens.resolve(tokenizer: tokenizer, config: model.config, generationConfig: try StopTokens.generationConfig(in: folder))
        return try ModelCompletionGenerator(model: model, tokenizer: tokenizer, maxNewTokens: maxNewTokens,
                                            sampling: sampling, extraStopTokenIDs: stops, batchSize: batchSize)
    }

    /// The token ids of the prompt for one user message: the chat template with the generation
    /// prompt, encoded without adding special tokens (the template writes BOS itself).
    public func promptTokens(message: String) throws -> [Int32] {
        let text = try tokenizer.applyChatTemplate(messages: [ChatMessage(role: "user", content: message)], addGenerationPrompt: true)
        let ids = tokenizer.encode(text, addSpecialTokens: false)
        guard !ids.isEmpty else {
            throw EvaluationError.invalidOption("the chat template renders an empty prompt for \"\(message.prefix(60))\"; check the model's chat_template")
        }
        return ids
    }

    /// Completions end at `maxNewTokens` or when prompt and completion fill the model's
    /// `max_position_embeddings`, whichever comes first (finish reason `length`); a prompt that
    /// alone fills them is an `EvaluationError.invalidOption`.
    public func generate(messages: [String], samplesPerPrompt: Int, seeds: [UInt64],
                         onCompletion: (Int, Int, GeneratedCompletion) throws -> Void) throws {
        guard !messages.isEmpty else { return }
        let prompts = try checkedPrompts(messages: messages, samplesPerPrompt: samplesPerPrompt)
        let positions = model.config.maxPositionEmbeddings
        // Each sequence's budget: what its prompt leaves of the positions, at most maxNewTokens.
        let budgets = prompts.flatMap { prompt in Array(repeating: min(maxNewTokens, positions - prompt.count), count: samplesPerPrompt) }
        var options = GenerationOptions(maxNewTokens: budgets.max() ?? maxNewTokens, sampling: sampling, samplesPerPrompt: samplesPerPrompt,
                                        stopTokenIDs: stopTokenIDs)
        options.sequenceSeeds = seeds
        options.pagedCache = pagedCache
        let total = messages.count * samplesPerPrompt
        var tokens = [[Int32]](repeating: [], count: total)
        var emitted = [Bool](repeating: false, count: total)
        try withoutActuallyEscaping(onCompletion) { onCompletion in
            var failure: (any Error)?
            let stops = stopTokenIDs, tokenizer = self.tokenizer
            func emit(_ sequence: Int, _ reason: FinishReason) {
                guard !emitted[sequence], failure == nil else { return }
                emitted[sequence] = true
                let completion = GeneratedCompletion(text: tokenizer.decode(tokens[sequence], skipSpecialTokens: true),
                                                     tokenCount: tokens[sequence].count, finishReason: reason)
                do { try onCompletion(sequence / samplesPerPrompt, sequence % samplesPerPrompt, completion) } catch { failure = error }
            }
            // A sequence is finished when it samples a stop token or reaches the budget; report it
            // at once so it is written to disk while the rest of the batch still runs.
            let results = try Generator(model: model).generate(prompts: prompts, options: options) { sequence, token in
                tokens[sequence].append(token)
                if stops.contains(token) { emit(sequence, .eos) } else if tokens[sequence].count >= budgets[sequence] { emit(sequence, .length) }
            }
            if let failure { throw failure }
            for result in results {
                let sequence = result.promptIndex * samplesPerPrompt + result.sampleIndex
                if !emitted[sequence] {
                    tokens[sequence] = Array(result.tokens.prefix(budgets[sequence]))
                    emit(sequence, result.finishReason)
                }
            }
            if let failure { throw failure }
        }
    }

    /// Refuses a prompt that leaves no room in the model's positions, or whose samples the paged
    /// cache cannot hold at their worst case, without generating anything.
    public func check(messages: [String], samplesPerPrompt: Int) throws {
        _ = try checkedPrompts(messages: messages, samplesPerPrompt: samplesPerPrompt)
    }

    /// The prompt tokens of `messages`, checked against the model's positions and the paged cache.
    private func checkedPrompts(messages: [String], samplesPerPrompt: Int) throws -> [[Int32]] {
        let prompts = try messages.map(promptTokens)
        let positions = model.config.maxPositionEmbeddings
        if let long = prompts.firstIndex(where: { $0.count >= positions }) {
            throw EvaluationError.invalidOption("a prompt of \(prompts[long].count) tokens leaves no room in the model's "
                + "max_position_embeddings (\(positions)): \"\(messages[long].prefix(60))...\"")
        }
        guard let pagedCache else { return prompts }
        guard pagedCache.blockSize >= 1 else {
            throw EvaluationError.invalidOption("the paged KV cache's block size must be at least 1, got \(pagedCache.blockSize)")
        }
        // A call generates up to its longest budget for every prompt, as Generator plans it.
        let newTokens = prompts.map { min(maxNewTokens, positions - $0.count) }.max() ?? maxNewTokens
        if let budget = pagedCache.maxCachedTokens, let index = prompts.firstIndex(where: {
            pagedCache.worstCaseBlocks(promptLength: $0.count, samples: samplesPerPrompt, maxNewTokens: newTokens) * pagedCache.blockSize > budget
        }) {
            let needed = pagedCache.worstCaseBlocks(promptLength: prompts[index].count, samples: samplesPerPrompt, maxNewTokens: newTokens)
            throw EvaluationError.invalidOption("the paged KV cache holds \(budget / pagedCache.blockSize * pagedCache.blockSize) tokens, but a prompt "
                + "of \(prompts[index].count) tokens with \(samplesPerPrompt) samples of up to \(newTokens) new tokens needs up to "
                + "\(needed * pagedCache.blockSize) (blocks of \(pagedCache.blockSize)): \"\(messages[index].prefix(60))...\"; "
                + "give the cache more memory or lower the new tokens or samples")
        }
        return prompts
    }
}
