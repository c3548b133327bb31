import FoundationEssentials
import RLModel
import RLTensor
import Testing
import RLTestSupport
@testable import RLReasoning

/// The paged KV cache in GRPO rollouts (`paged_kv_cache`) and in evaluation: the same
/// completions as the contiguous cache, also when fewer groups fit than there are, its budget
/// planned from free memory, and bad settings refused before any work.
@Suite("Paged KV cache settings")
struct PagedKVCacheSettingTests {
    static let huge = 1 << 50

    /// The small configuration with 10-token completions and the paged cache as given.
    static func configuration(paged: Bool, maxTokens: Int? = nil, blockSize: Int = 4) -> GRPOConfiguration {
        var c = smallConfiguration()
        c.maxCompletionLength = 10
        c.temperature = 1.1
        c.pagedKVCache = paged
        c.kvCacheBlockSize = blockSize
        c.kvCacheMaxTokens = maxTokens
        return c
    }

    static func trainer(_ c: GRPOConfiguration, policy: any CausalLanguageModel) throws -> GRPOTrainer {
        try GRPOTrainer(configuration: c, policy: policy, tokenizer: try fixtureTokenizer(), dataset: try arithmeticDataset())
    }

    /// Same prompts, completions (token ids, finish reasons, texts) and log-probs within 1e-4.
    static func expectSame(_ paged: ScoredGroups, _ contiguous: ScoredGroups, _ what: String) {
        #expect(paged.promptIDs == contiguous.promptIDs, "\(what)")
        #expect(paged.sequences.count == contiguous.sequences.count, "\(what)")
        for (x, y) in zip(paged.sequences, contiguous.sequences) {
            #expect(x.tokens == y.tokens && x.finishReason == y.finishReason, "\(what): prompt \(x.promptIndex) sample \(x.sampleIndex)")
            let worst = zip(x.logProbs, y.logProbs).map { abs($0 - $1) }.max() ?? 0
            #expect(x.logProbs.count == y.logProbs.count && worst <= 1e-4, "\(what): log-probs differ by \(worst)")
        }
        #expect(paged.texts == contiguous.texts, "\(what)")
    }

    @Test("a rollout with paged_kv_cache samples the same completions as the contiguous cache")
    func rolloutMatchesContiguous() throws {
        let policy = try fixturePolicy()
        let rows = Array(try arithmeticDataset().rows.prefix(4))
        let contiguous = try Self.trainer(Self.configuration(paged: false), policy: policy)
        #expect(contiguous.builder.pagedCache == nil)
        for blockSize in [4, 16] {
            let paged = try Self.trainer(Self.configuration(paged: true, blockSize: blockSize), policy: policy)
            #expect(paged.builder.pagedCache?.blockSize == blockSize)
            for (seed, first) in [(UInt64(3), 0), (UInt64(11), 6)] {
                let expected = try contiguous.builder.generate(rows: rows, policy: policy, seed: seed, firstSequence: first)
                let got = try paged.builder.generate(rows: rows, policy: policy, seed: seed, firstSequence: first)
                Self.expectSame(got, expected, "blocks of \(blockSize), seed \(seed), first sequence \(first)")
            }
        }
    }

    @Test("a budget of one group generates the groups one after another, with the same completions")
    func tightBudget() throws {
        let policy = try fixturePolicy()
        let rows = Array(try arithmeticDataset().rows.prefix(4))
        let group = Self.configuration(paged: true).pagedGroupTokens
        let paged = try Self.trainer(Self.configuration(paged: true, maxTokens: group), policy: policy)
        let budget = try #require(paged.builder.pagedCache?.maxCachedTokens)
        // Fewer groups fit at once than a call generates.
        #expect(budget == group && budget < 2 * group)
        let contiguous = try Self.trainer(Self.configuration(paged: false), policy: policy)
        let expected = try contiguous.builder.generate(rows: rows, policy: policy, seed: 5)
        Self.expectSame(try paged.builder.generate(rows: rows, policy: policy, seed: 5), expected, "one group at a time")
        // The builder hands its budget to the generator, which refuses one too small for a group.
        let b = paged.builder
        let tooSmall = RolloutBuilder(configuration: b.configuration, tokenizer: b.tokenizer, rewards: b.rewards, weights: b.weights,
                                      endTokenIDs: b.endTokenIDs, padTokenID: b.padTokenID,
                                      pagedCache: PagedCacheOptions(blockSize: 4, maxCachedTokens: 4))
        #expect(throws: LanguageModelError.self) { try tooSmall.generate(rows: rows, policy: policy, seed: 5) }
    }

    @Test("one group's worst case is the largest over every prompt length, and the generator accepts exactly it")
    func groupWorstCase() throws {
        var c = Self.configuration(paged: true, blockSize: 4)
        c.maxPromptLength = 9
        c.maxCompletionLength = 5
        c.numGenerations = 3
        let layout = PagedCacheOptions(blockSize: 4)
        let scanned = (1...9).map { layout.worstCaseBlocks(promptLength: $0, samples: 3, maxNewTokens: 5) }.max()! * 4
        #expect(c.pagedGroupTokens == scanned)
        // A prompt of 7 tokens: 1 shared block, 3 x 2 blocks up to token 11.
        #expect(layout.worstCaseBlocks(promptLength: 7, samples: 3, maxNewTokens: 5) == 7)
        let model = try fixturePolicy()
        let prompt = [Int32](repeating: 7, count: 7)
        var options = GenerationOptions(maxNewTokens: 5, samplesPerPrompt: 3)
        options.pagedCache = PagedCacheOptions(blockSize: 4, maxCachedTokens: 7 * 4)
        _ = try Generator(model: model).generate(prompts: [prompt], options: options)
        options.pagedCache = PagedCacheOptions(blockSize: 4, maxCachedTokens: 7 * 4 - 1)
        #expect(throws: LanguageModelError.self) { try Generator(model: model).generate(prompts: [prompt], options: options) }
    }

    @Test("bad paged cache settings are refused, naming the setting and what is allowed")
    func badSettings() throws {
        func message(_ change: (inout GRPOConfiguration) -> Void) -> String? {
            var c = Self.configuration(paged: true)
            change(&c)
            do { try c.validate() } catch { return "\(error)" }
            return nil
        }
        #expect(message { _ in } == nil)
        #expect(message { $0.kvCacheBlockSize = 0 } == "setting 'kvCacheBlockSize': must be between 1 and 4096, got 0")
        #expect(message { $0.kvCacheMemoryFraction = 0 } == "setting 'kvCacheMemoryFraction': must be in (0, 1], got 0.0")
        #expect(message { $0.kvCacheMemoryFraction = 1.5 } == "setting 'kvCacheMemoryFraction': must be in (0, 1], got 1.5")
        #expect(message { $0.kvCacheMemoryFraction = .nan } == "setting 'kvCacheMemoryFraction': must be in (0, 1], got nan")
        let group = Self.configuration(paged: true).pagedGroupTokens
        #expect(message { $0.kvCacheMaxTokens = group } == nil)
        let small = message { $0.kvCacheMaxTokens = group - 1 }
        #expect(small == "setting 'kvCacheMaxTokens': \(group - 1) tokens cannot hold one group: 3 completions of up to 10 tokens after "
            + "a prompt of up to 32 (blocks of 4 tokens) need up to \(group); raise it or lower numGenerations or maxCompletionLength")
        // The trainer refuses before it builds anything.
        var c = Self.configuration(paged: true, maxTokens: group - 1)
        c.settingNames = .recipe
        #expect { _ = try Self.trainer(c, policy: try fixturePolicy()) } throws: { "\($0)".hasPrefix("setting 'kv_cache_max_tokens': ") }
    }

    @Test("the memory plan gives the paged cache its share of what the other parts leave, and shows it")
    func plannedBudget() throws {
        let policy = try fixturePolicy()
        var c = Self.configuration(paged: true)
        c.perDeviceTrainBatchSize = 12  // 4 groups of 3
        let group = c.pagedGroupTokens
        let blockBytes = PagedKVCache.bytesPerBlock(config: policy.config, blockSize: 4)
        func kv(_ plan: MemoryPlan) -> Int { plan.parts.first { $0.name == "KV cache" }!.bytes }

        let off = MemoryPlan(policy: policy, configuration: Self.configuration(paged: false), availableBytes: Self.huge)
        #expect(off.pagedCache == nil && !off.table().contains("paged KV cache"))
        // Plenty of memory: every group at once, no more.
        let roomy = MemoryPlan(policy: policy, configuration: c, availableBytes: Self.huge)
        #expect(roomy.pagedCache?.maxCachedTokens == 4 * group)
        #expect(kv(roomy) == 4 * group / 4 * blockBytes)
        #expect(roomy.table().contains("paged KV cache: \(4 * group) tokens (kv_cache_memory_fraction 0.9 of the "))
        #expect(roomy.table().contains("one group needs up to \(group), every group of a micro-step \(4 * group)"))
        // The other parts' peak plus room for 1.5 groups: at fraction 1 one group and a half fit, in whole blocks.
        let others = MemoryPlan.peak(of: roomy.parts.filter { $0.name != "KV cache" }).bytes
        c.kvCacheMemoryFraction = 1
        let spare = group / 4 * blockBytes * 3 / 2
        let tight = MemoryPlan(policy: policy, configuration: c, availableBytes: others + spare)
        #expect(tight.pagedCache?.maxCachedTokens == spare / blockBytes * 4)
        #expect(tight.fits && kv(tight) == spare / blockBytes * blockBytes)
        try tight.checkPagedCache()
        // Half the memory: not even one group fits, refused by name.
        c.kvCacheMemoryFraction = 0.5
        let short = MemoryPlan(policy: policy, configuration: c, availableBytes: others + spare)
        #expect { try short.checkPagedCache() } throws: { "\($0)".hasPrefix("setting 'kvCacheMemoryFraction': 0.5 of the ") }
        // The trainer plans the same way (here capped by memoryLimit) and refuses it before it builds anything.
        var limited = c
        limited.memoryLimit = others + spare
        #expect { _ = try Self.trainer(limited, policy: policy) } throws: { "\($0)".hasPrefix("setting 'kvCacheMemoryFraction': 0.5 of the ") }
        // Unknown memory and no cap: every group at once.
        let unknown = MemoryPlan(policy: policy, configuration: c, availableBytes: nil)
        #expect(unknown.pagedCache != nil && unknown.pagedCache?.maxCachedTokens == nil && kv(unknown) == 4 * group / 4 * blockBytes)
        // An explicit cap replaces the share, in whole blocks.
        c.kvCacheMaxTokens = group + 3
        let capped = MemoryPlan(policy: policy, configuration: c, availableBytes: others + spare)
        #expect(capped.pagedCache?.maxCachedTokens == group
                && capped.table().contains("paged KV cache: \(group) tokens (kv_cache_max_tokens \(group + 3))"))
    }

    @Test("evaluation with a paged cache writes the same completions; a budget too small is refused before the first batch")
    func evaluationMatchesContiguous() throws {
        let checkpoint = try tinyEvaluationCheckpoint()
        defer { try? FileManager.default.removeItem(at: checkpoint) }
        var generator = try ModelCompletionGenerator.load(from: checkpoint, maxNewTokens: 8,
                                                          sampling: SamplingParameters(temperature: 0.9, topP: 0.95), batchSize: 3)
        let messages = ["Hi", "What is the answer?", "What is 2 + 3?", "the answer"]
        let seeds = (0..<(messages.count * 2)).map { UInt64(100 + $0) }
        func completions() throws -> [String: GeneratedCompletion] {
            var result: [String: GeneratedCompletion] = [:]
            try generator.generate(messages: messages, samplesPerPrompt: 2, seeds: seeds) { result["\($0)#\($1)"] = $2 }
            return result
        }
        let contiguous = try completions()
        let prompts = try messages.map { try generator.promptTokens(message: $0) }
        let oneGroup = prompts.map { PagedCacheOptions(blockSize: 4).worstCaseBlocks(promptLength: $0.count, samples: 2, maxNewTokens: 8) }.max()! * 4
        for paged in [PagedCacheOptions(blockSize: 4), PagedCacheOptions(blockSize: 4, maxCachedTokens: oneGroup),
                      generator.pagedCache(memoryFraction: 0.5, blockSize: 4)] {
            generator.pagedCache = paged
            let got = try completions()
            #expect(got.count == contiguous.count)
            for (key, completion) in contiguous {
                #expect(got[key]?.text == completion.text && got[key]?.tokenCount == completion.tokenCount
                        && got[key]?.finishReason == completion.finishReason, "\(key) with \(paged)")
            }
        }

        generator.pagedCache = PagedCacheOptions(blockSize: 4, maxCachedTokens: oneGroup - 4)
        let output = checkpoint.appendingPathComponent("results")
        let runner = try EvaluationRunner(generator: generator, configuration: EvaluationConfiguration(outputDirectory: output, samples: 2,
                                                                                                        limit: 2, modelName: "tiny"))
        #expect { try runner.run(tasks: [EvaluationTask.named("aime24")!]) } throws: { "\($0)".hasPrefix("the paged KV cache holds ") }
        #expect(try EvaluationRecordFile(url: output.appendingPathComponent("aime24.jsonl")).readRecords().isEmpty)
    }
}
