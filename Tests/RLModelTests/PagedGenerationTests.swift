import FoundationEssentials
import RLTensor
import Testing

@testable import RLModel

/// Generation with a paged KV cache (`GenerationOptions.pagedCache`) against the contiguous
/// cache, on the transformers fixtures: the same tokens, finish reasons and (to float rounding)
/// log-probabilities, with prompts of different lengths, several samples per prompt, end tokens,
/// greedy and sampled decoding, and a block budget that forces continuous batching.
@Suite("Paged generation")
struct PagedGenerationTests {
    static let fixtures = ["qwen2-tiny", "qwen3-tiny", "llama-tiny-llama3"]

    /// The fixture model and four prompts of 3, 11, 16 and 6 tokens cut from its test input.
    static func load(_ fixture: String) throws -> (any CausalLanguageModel, [[Int32]]) {
        let folder = fixturesDirectory.appendingPathComponent(fixture)
        let ids = try CheckpointReader(at: folder.appendingPathComponent("expected.safetensors")).tensor(named: "input_ids")
            .int64s(name: "input_ids").map { Int32($0) }
        return (try ModelLoader.load(from: folder), [Array(ids[0..<3]), Array(ids[16..<27]), Array(ids[5..<21]), Array(ids[20..<26])])
    }

    static let samplings: [(String, SamplingParameters)] = [
        ("greedy", .greedy), ("sampled", SamplingParameters(temperature: 1.3, topP: 0.95)),
    ]

    /// Tokens, finish reasons and sample identities equal; log-probs within `tolerance`.
    static func expectSame(_ a: [GeneratedSequence], _ b: [GeneratedSequence], tolerance: Float = 1e-4, _ what: String) {
        #expect(a.count == b.count, "\(what)")
        for (x, y) in zip(a, b) {
            #expect(x.promptIndex == y.promptIndex && x.sampleIndex == y.sampleIndex, "\(what)")
            #expect(x.tokens == y.tokens, "\(what): prompt \(x.promptIndex) sample \(x.sampleIndex)")
            #expect(x.finishReason == y.finishReason, "\(what): prompt \(x.promptIndex) sample \(x.sampleIndex)")
            let worst = zip(x.logProbs, y.logProbs).map { abs($0 - $1) }.max() ?? 0
            #expect(x.logProbs.count == y.logProbs.count && worst <= tolerance, "\(what): log-probs differ by \(worst)")
        }
    }

    /// A token the contiguous run draws in the middle of some completions, as an end token, so
    /// some sequences stop early and others run to the budget.
    static func midwayToken(_ sequences: [GeneratedSequence]) -> Int32 {
        sequences.compactMap { $0.tokens.count > 6 ? $0.tokens[4] : nil }.first!
    }

    @Test("the same tokens and log-probs as the contiguous cache", arguments: fixtures)
    func matchesContiguous(_ fixture: String) throws {
        let (model, prompts) = try Self.load(fixture)
        for (name, sampling) in Self.samplings {
            var options = GenerationOptions(maxNewTokens: 14, sampling: sampling, samplesPerPrompt: 3, seed: 5)
            let plain = try Generator(model: model).generate(prompts: prompts, options: options)
            options.stopTokenIDs = [Self.midwayToken(plain)]
            let contiguous = try Generator(model: model).generate(prompts: prompts, options: options)
            #expect(contiguous.contains { $0.finishReason == .eos } && contiguous.contains { $0.finishReason == .length })
            for blockSize in [4, 16] {
                options.pagedCache = PagedCacheOptions(blockSize: blockSize)
                var streamed: [(Int, Int32)] = []
                let paged = try Generator(model: model).generate(prompts: prompts, options: options) { streamed.append(($0, $1)) }
                Self.expectSame(paged, contiguous, "\(fixture) \(name) blocks of \(blockSize)")
                // Every token is streamed once, in each sequence's order.
                #expect(paged.indices.allSatisfy { i in streamed.filter { $0.0 == i }.map(\.1) == paged[i].tokens })
            }
        }
    }

    @Test("a small block budget admits prompts as blocks free up, each group as if generated alone", arguments: fixtures)
    func continuousBatching(_ fixture: String) throws {
        let (model, prompts) = try Self.load(fixture)
        let g = 2, maxNew = 10, blockSize = 4
        var options = GenerationOptions(maxNewTokens: maxNew, sampling: SamplingParameters(temperature: 1.2), samplesPerPrompt: g, seed: 9)
        options.stopTokenIDs = [Self.midwayToken(try Generator(model: model).generate(prompts: prompts, options: options))]
        // Room for the largest group's worst case only: at most one or two prompts run at a time.
        let worst = prompts.map { p in p.count / blockSize + g * ((p.count + maxNew - 1 + blockSize - 1) / blockSize - p.count / blockSize) }
        options.pagedCache = PagedCacheOptions(blockSize: blockSize, maxCachedTokens: worst.max()! * blockSize)
        let batched = try Generator(model: model).generate(prompts: prompts, options: options)
        let seeds = (0..<(prompts.count * g)).map { Generator.sequenceSeed(9, $0) }
        for (p, prompt) in prompts.enumerated() {
            var alone = options
            alone.pagedCache = nil
            alone.sequenceSeeds = Array(seeds[(p * g)..<((p + 1) * g)])
            let reference = try Generator(model: model).generate(prompts: [prompt], options: alone)
            Self.expectSame(Array(batched[(p * g)..<((p + 1) * g)]).map { var s = $0; s.promptIndex = 0; return s }, reference,
                            "\(fixture) prompt \(p)")
        }
    }

    @Test("bad paged-cache options throw")
    func badOptions() throws {
        let (model, prompts) = try Self.load("qwen2-tiny")
        var options = GenerationOptions(maxNewTokens: 8, samplesPerPrompt: 2)
        options.pagedCache = PagedCacheOptions(blockSize: 0)
        #expect(throws: LanguageModelError.self) { try Generator(model: model).generate(prompts: prompts, options: options) }
        // The 16-token prompt with 2 samples of up to 8 tokens needs 4 + 2 * 2 blocks of 4.
        options.pagedCache = PagedCacheOptions(blockSize: 4, maxCachedTokens: 31)
        #expect(throws: LanguageModelError.self) { try Generator(model: model).generate(prompts: prompts, options: options) }
        options.pagedCache = PagedCacheOptions(blockSize: 4, maxCachedTokens: 32)
        #expect(try Generator(model: model).generate(prompts: prompts, options: options).count == 8)
    }

    @Test("memory planning: tokens that fit in a byte budget")
    func tokensFittingInBytes() throws {
        let (model, _) = try Self.load("qwen2-tiny")
        let block = PagedKVCache.bytesPerBlock(config: model.config, blockSize: 16)
        // 2 layers x 16 tokens x 2 KV heads x 16 dims x 4 bytes, keys and values.
        #expect(block == 2 * 2 * 16 * 2 * 16 * 4)
        #expect(PagedCacheOptions.maxCachedTokens(fittingIn: 3 * block + block / 2, config: model.config) == 48)
        #expect(PagedCacheOptions.maxCachedTokens(fittingIn: block - 1, config: model.config) == 0)
    }
}
