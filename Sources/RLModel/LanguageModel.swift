import FoundationEssentials
import RLTensor

/// A Hugging Face model folder, ready to use in one call: the weights (any supported family), the
/// tokenizer with its chat template, the generation defaults of `generation_config.json` and every
/// end-of-sequence id (`StopTokens`). Inputs are plain arrays and strings; bad input throws
/// `LanguageModelError` naming the argument, never traps.
///
/// In async code `try await generate(chat:...)` checks for cancellation before every token and
/// throws `CancellationError` when its task is cancelled. Safe to share between tasks: generating
/// and scoring only read the weights.
///
/// ```swift
/// let lm = try LanguageModel.load(from: URL(fileURLWithPath: "DeepSeek-R1-Distill-Qwen-1.5B"))
/// let reply = try lm.generate(chat: [ChatMessage(role: "user", content: "What is 7 + 5?")], maxNewTokens: 64)
/// print(reply.text)
/// ```
public struct LanguageModel: @unchecked Sendable {
    // The model's weights are read-only after loading; generation and scoring only read them.
    public let model: any CausalLanguageModel
    public let tokenizer: Tokenizer
    /// `generation_config.json`, when the folder has one.
    public let generationConfig: GenerationConfig?
    /// Ids that end a completion: the tokenizer's, `config.json`'s and `generation_config.json`'s EOS.
    public let stopTokenIDs: Set<Int32>

    /// One generated completion.
    public struct Completion: Sendable {
        /// The completion decoded, special tokens skipped.
        public let text: String
        /// Its token ids (the end token included when one was sampled).
        public let tokens: [Int32]
        public let finishReason: FinishReason
    }

    public init(model: any CausalLanguageModel, tokenizer: Tokenizer, generationConfig: GenerationConfig? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.generationConfig = generationConfig
        stopTokenIDs = StopTokens.resolve(tokenizer: tokenizer, config: model.config, generationConfig: generationConfig)
    }

    /// Loads `folder`: `config.json`, the safetensors weights (stored as `weightType`), the
    /// tokenizer files and `generation_config.json` when present.
    public static func load(from folder: URL, weightType: DType = .f32, device: Device = .cpu) throws -> LanguageModel {
        let model = try ModelLoader.load(from: folder, weightType: weightType, device: device)
        let tokenizer = try Tokenizer(directory: folder)
        guard tokenizer.vocabularySize <= model.config.vocabSize else {
            throw LanguageModelError.invalidArgument("folder", "the tokenizer has \(tokenizer.vocabularySize) tokens but the model only "
                + "\(model.config.vocabSize) embeddings: they do not belong together")
        }
        return LanguageModel(model: model, tokenizer: tokenizer, generationConfig: try StopTokens.generationConfig(in: folder))
    }

    /// The folder's sampling defaults (`generation_config.json`: `do_sample`, `temperature`,
    /// `top_p`, `top_k`), or greedy decoding when it has none.
    public var defaultSampling: SamplingParameters {
        guard let g = generationConfig, g.doSample != false else { return .greedy }
        return SamplingParameters(temperature: Float(g.temperature ?? 1), topP: Float(g.topP ?? 1), topK: g.topK ?? 0)
    }

    /// Answers a conversation: the chat template with the generation prompt, then up to
    /// `maxNewTokens` (≥ 1) sampled tokens with `sampling` (default: `defaultSampling`), stopping
    /// at any end token. Prompt and completion must fit the model's positions.
    public func generate(chat messages: [ChatMessage], maxNewTokens: Int = 256, sampling: SamplingParameters? = nil,
                         seed: UInt64 = 0) throws -> Completion {
        guard !messages.isEmpty else { throw LanguageModelError.invalidArgument("messages", "give at least one message") }
        let text = try tokenizer.applyChatTemplate(messages: messages, addGenerationPrompt: true)
        return try complete(ids: tokenizer.encode(text, addSpecialTokens: false), maxNewTokens: maxNewTokens, sampling: sampling, seed: seed)
    }

    /// Continues raw text (no chat template; the tokenizer's special tokens such as BOS are added).
    public func generate(prompt: String, maxNewTokens: Int = 256, sampling: SamplingParameters? = nil, seed: UInt64 = 0) throws -> Completion {
        try complete(ids: tokenizer.encode(prompt, addSpecialTokens: true), maxNewTokens: maxNewTokens, sampling: sampling, seed: seed)
    }

    /// The log-probability (natural log) of each of the last `lastTokens` ids given the ones
    /// before it. Requires 1 ≤ `lastTokens` < `ids.count`, every id below the vocabulary size and
    /// `ids.count` within the model's positions.
    public func logProbs(ids: [Int32], lastTokens: Int) throws -> [Float] {
        try check(ids: ids, argument: "ids")
        guard lastTokens >= 1 && lastTokens < ids.count else {
            throw LanguageModelError.invalidArgument("lastTokens", "must be between 1 and \(ids.count - 1) (ids.count - 1), got \(lastTokens)")
        }
        let input = Tensor(ids, shape: [1, ids.count], device: model.device)
        return try model.tokenLogProbs(inputIDs: input, lastTokens: lastTokens).toFloatArray()
    }

    /// `generate(chat:)` for async code: it checks for cancellation before each token and throws
    /// `CancellationError` when its task is cancelled. `onToken` receives each token as it is chosen.
    /// Generation runs on the calling task's thread.
    public func generate(chat messages: [ChatMessage], maxNewTokens: Int = 256, sampling: SamplingParameters? = nil,
                         seed: UInt64 = 0, onToken: ((Int32) -> Void)? = nil) async throws -> Completion {
        try Task.checkCancellation()
        guard !messages.isEmpty else { throw LanguageModelError.invalidArgument("messages", "give at least one message") }
        let text = try tokenizer.applyChatTemplate(messages: messages, addGenerationPrompt: true)
        return try complete(ids: tokenizer.encode(text, addSpecialTokens: false), maxNewTokens: maxNewTokens, sampling: sampling,
                            seed: seed, onToken: Self.cancellable(onToken))
    }

    /// `generate(prompt:)` for async code: cancellable between tokens, as `generate(chat:)`.
    public func generate(prompt: String, maxNewTokens: Int = 256, sampling: SamplingParameters? = nil, seed: UInt64 = 0,
                         onToken: ((Int32) -> Void)? = nil) async throws -> Completion {
        try Task.checkCancellation()
        return try complete(ids: tokenizer.encode(prompt, addSpecialTokens: true), maxNewTokens: maxNewTokens, sampling: sampling,
                     seed: seed, onToken: Self.cancellable(onToken))
    }

    /// A token hook that throws `CancellationError` once the current task is cancelled.
    private static func cancellable(_ onToken: ((Int32) -> Void)?) -> (Int, Int32) throws -> Void {
        { _, token in
            try Task.checkCancellation()
            onToken?(token)
        }
    }

    private func complete(ids: [Int32], maxNewTokens: Int, sampling: SamplingParameters?, seed: UInt64,
                          onToken: ((Int, Int32) throws -> Void)? = nil) throws -> Completion {
        try check(ids: ids, argument: "prompt")
        let limit = model.config.maxPositionEmbeddings
        guard maxNewTokens >= 1, maxNewTokens <= limit - ids.count else {
            throw LanguageModelError.invalidArgument("maxNewTokens", "must be between 1 and \(max(0, limit - ids.count)) (the model's "
                + "\(limit) positions less the prompt's \(ids.count) tokens), got \(maxNewTokens)")
        }
        let options = GenerationOptions(maxNewTokens: maxNewTokens, sampling: sampling ?? defaultSampling, stopTokenIDs: stopTokenIDs, seed: seed)
        let sequence = try Generator(model: model).generate(prompts: [ids], options: options, onToken: onToken)[0]
        return Completion(text: tokenizer.decode(sequence.tokens, skipSpecialTokens: true), tokens: sequence.tokens,
                          finishReason: sequence.finishReason)
    }

    private func check(ids: [Int32], argument: String) throws {
        guard !ids.isEmpty else { throw LanguageModelError.invalidArgument(argument, "is empty") }
        try model.checkTokenIDs(ids, argument: argument)
        guard ids.count <= model.config.maxPositionEmbeddings else {
            throw LanguageModelError.invalidArgument(argument, "\(ids.count) tokens exceed the model's \(model.config.maxPositionEmbeddings) positions")
        }
    }
}
