import FoundationEssentials
import RLModel
import RLReasoning

// A GRPO run on the qwen2-tiny fixture, small enough for unit tests: shared by the RLReasoning
// and RLApp suites.

/// A tokenizer whose ids fit the fixture model's 512-token vocabulary: the 256 byte tokens plus
/// chat tokens, with a template whose generation prompt opens the think block.
public func fixtureTokenizer() throws -> Tokenizer {
    var vocabulary: [String: Int32] = [:]
    for (id, token) in Tokenizer.byteLevelAlphabet.enumerated() { vocabulary[token] = Int32(id) }
    let added = ["<|end|>", "<|user|>", "<|assistant|>", "<think>", "</think>"].enumerated().map {
        AddedToken(id: Int32(256 + $0.offset), content: $0.element, special: $0.offset == 0)
    }
    let template = "{% for m in messages %}{% if m['role'] == 'user' %}<|user|>{{ m['content'] }}{% endif %}{% endfor %}{% if add_generation_prompt %}<|assistant|><think>\n{% endif %}"
    return try Tokenizer(vocabulary: vocabulary, merges: [], addedTokens: added, eosToken: "<|end|>", padToken: "<|end|>",
                         chatTemplate: template)
}

public func fixturePolicy() throws -> DecoderModel {
    try DecoderModel.load(from: Fixtures.url("qwen2-tiny"))
}

public func arithmeticDataset(_ count: Int = 12) throws -> PromptDataset {
    try PromptDataset(rows: (0..<count).map { ["problem": "What is \($0) + 2?", "answer": String($0 + 2)] })
}

/// A small, fast configuration for the fixture model.
public func smallConfiguration() -> GRPOConfiguration {
    var c = GRPOConfiguration()
    c.learningRate = 1e-3
    c.maxSteps = 4
    c.warmupRatio = 0.25
    c.gradientAccumulationSteps = 2
    c.numGenerations = 3
    c.perDeviceTrainBatchSize = 6
    c.maxCompletionLength = 6
    c.maxPromptLength = 32
    c.temperature = 1
    c.beta = 0.04
    c.rewardFuncs = [.format, .reasoningSteps, .repetitionPenalty]
    c.rewardWeights = [1, 0.5, 1]
    c.systemPrompt = nil
    c.saveSteps = 2
    c.gradientCheckpointing = true
    c.seed = 7
    return c
}


/// A reward that differs between the completions of a group (the fixture model's random text
/// earns equal format rewards everywhere, which would leave nothing to learn).
public struct CharacterSumReward: PerCompletionReward {
    public let name = "character_sum"
    public init() {}
    public func score(completion: String, tokenCount: Int, row: [String: String]) -> Float? {
        Float(completion.unicodeScalars.reduce(0) { $0 + Int($1.value) } % 7)
    }
}
