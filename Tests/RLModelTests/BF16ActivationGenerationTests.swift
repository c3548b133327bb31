import FoundationEssentials
import RLTensor
import RLTestSupport
import Testing

@testable import RLModel

/// Inference with bf16 activations and KV cache (`GenerationOptions.activationType`) on the
/// CPU, against the f32 run of the same bf16-matrix model on the transformers fixtures.
@Suite("bf16-activation generation")
struct BF16ActivationGenerationTests {
    /// The fixture's inference copy with bf16 matrices, and its prompts.
    static func load(_ fixture: String) throws -> (any CausalLanguageModel, [[Int32]]) {
        let (model, prompts) = try PagedGenerationTests.load(fixture)
        return (model.inferenceCopy(matrices: .bf16), prompts)
    }

    @Test("prefill and decode logits within bf16 precision of the f32 activations'", arguments: PagedGenerationTests.fixtures)
    func logitsClose(_ fixture: String) throws {
        let (model, prompts) = try Self.load(fixture)
        let batch = LeftPaddedBatch(prompts)
        var logits: [DType: [[Float]]] = [:]
        for type in [DType.f32, .bf16] {
            let cache = model.makeCache(batch: prompts.count, capacity: batch.length + 2, activationType: type)
            let prefill = try model.forward(tokens: batch.ids, mask: batch.mask, cache: cache)
            let decode = try model.forward(tokens: [3, 7, 11, 13], mask: nil, cache: cache)
            #expect(prefill.dtype == .f32 && decode.dtype == .f32)
            logits[type] = [prefill.toFloatArray(), decode.toFloatArray()]
        }
        for (step, (want, got)) in zip(logits[.f32]!, logits[.bf16]!).enumerated() {
            let scale = want.map(abs).max()!, worst = zip(want, got).map { abs($0 - $1) }.max()!
            // bf16 keeps 8 significant bits: a few roundings per layer stay within a few percent.
            #expect(worst <= 0.05 * scale, "\(fixture) step \(step): logits differ by \(worst) at scale \(scale)")
            #expect(worst > 0, "\(fixture) step \(step): bf16 activations changed nothing")
        }
    }

    @Test("greedy tokens equal the f32 run's up to near ties; paged and contiguous bf16 caches agree", arguments: PagedGenerationTests.fixtures)
    func greedyTokens(_ fixture: String) throws {
        let (model, prompts) = try Self.load(fixture)
        var options = GenerationOptions(maxNewTokens: 10, samplesPerPrompt: 2)
        let f32 = try Generator(model: model).generate(prompts: prompts, options: options)
        options.activationType = .bf16
        let bf16 = try Generator(model: model).generate(prompts: prompts, options: options)
        var diverged = 0
        for (want, got) in zip(f32, bf16) {
            let common = zip(want.tokens, got.tokens).prefix { $0 == $1 }.count
            let worst = zip(want.logProbs.prefix(common), got.logProbs.prefix(common)).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 0.05, "\(fixture) prompt \(want.promptIndex): log-probs differ by \(worst)")
            guard common < want.tokens.count else { continue }
            // Where the runs part, the f32 model all but tied the two tokens.
            diverged += 1
            let prefix = prompts[want.promptIndex] + want.tokens.prefix(common)
            let logits = try model.forward(tokens: prefix, mask: nil, cache: model.makeCache(batch: 1, capacity: prefix.count)).toFloatArray()
            let gap = logits[Int(want.tokens[common])] - logits[Int(got.tokens[common])]
            #expect(gap >= 0 && gap <= 0.02 * logits.map(abs).max()!, "\(fixture) prompt \(want.promptIndex) token \(common): f32 margin \(gap)")
        }
        #expect(diverged <= bf16.count / 4, "\(fixture): \(diverged) of \(bf16.count) sequences part from the f32 run")
        options.pagedCache = PagedCacheOptions(blockSize: 4)
        let paged = try Generator(model: model).generate(prompts: prompts, options: options)
        PagedGenerationTests.expectSame(paged, bf16, tolerance: 2e-2, "\(fixture) paged bf16")
    }

    @Test("attached LoRA adapters apply to bf16 activations (computed in f32)")
    func loraAdapters() throws {
        let model = try DecoderModel.load(from: Fixtures.url("qwen2-tiny"))
        try model.attachAdapters(try LoRAAdapters.load(from: Fixtures.url("lora/all-linear"), model: model.config))
        let inference = model.inferenceCopy(matrices: .bf16)
        let tokens: [Int32] = [5, 9, 13, 200, 7, 44]
        var logits: [DType: [Float]] = [:]
        for type in [DType.f32, .bf16] {
            logits[type] = try inference.forward(tokens: tokens, mask: nil, cache: inference.makeCache(batch: 1, capacity: 6, activationType: type)).toFloatArray()
        }
        let base = DecoderModel(checked: model.config, parameters: inference.parameters)
        let withoutAdapters = try base.forward(tokens: tokens, mask: nil, cache: base.makeCache(batch: 1, capacity: 6)).toFloatArray()
        let scale = logits[.f32]!.map(abs).max()!
        let worst = zip(logits[.f32]!, logits[.bf16]!).map { abs($0 - $1) }.max()!
        #expect(worst <= 0.05 * scale, "logits differ by \(worst) at scale \(scale)")
        // The adapters' share of the logits is far above that difference.
        #expect(zip(logits[.f32]!, withoutAdapters).map { abs($0 - $1) }.max()! > 4 * worst)
    }

    @Test("bf16 halves the paged cache's bytes per block")
    func cacheBytes() throws {
        let (model, _) = try Self.load("qwen2-tiny")
        let f32 = PagedKVCache.bytesPerBlock(config: model.config, blockSize: 16)
        #expect(PagedKVCache.bytesPerBlock(config: model.config, blockSize: 16, activationType: .bf16) * 2 == f32)
        #expect(PagedCacheOptions.maxCachedTokens(fittingIn: 3 * f32, config: model.config, activationType: .bf16) == 96)
    }

    @Test("typed errors: bf16 activations with f32 matrices, other types, mixed caches")
    func errors() throws {
        let (bf16Model, prompts) = try Self.load("qwen2-tiny")
        let (f32Model, _) = try PagedGenerationTests.load("qwen2-tiny")
        func argument(_ body: () throws -> Void) -> String? {
            do { try body() } catch let LanguageModelError.invalidArgument(name, _) { return name } catch { return "other: \(error)" }
            return nil
        }
        var options = GenerationOptions(maxNewTokens: 2)
        options.activationType = .bf16
        #expect(argument { _ = try Generator(model: f32Model).generate(prompts: prompts, options: options) } == "activationType")
        options.activationType = .f16
        #expect(argument { _ = try Generator(model: bf16Model).generate(prompts: prompts, options: options) } == "activationType")
        let cache = f32Model.makeCache(batch: 1, capacity: 4, activationType: .bf16)
        #expect(argument { _ = try f32Model.forward(tokens: [1, 2], mask: nil, cache: cache) } == "cache")
        #expect(cache.length == 0)
        // A cache of another type is made, and refused by the forward pass.
        let f16Cache = bf16Model.makeCache(batch: 1, capacity: 4, activationType: .f16)
        #expect(argument { _ = try bf16Model.forward(tokens: [1, 2], mask: nil, cache: f16Cache) } == "cache")
        #expect(f16Cache.length == 0)
        #expect(argument { _ = try bf16Model.makePagedCache(blockCount: 4, activationType: .i32) } == "activationType")
        let paged = try bf16Model.makePagedCache(blockCount: 4, activationType: .bf16)
        let f32Cache = bf16Model.makeCache(batch: 1, capacity: 4)
        _ = try bf16Model.forward(tokens: [1, 2], mask: nil, cache: f32Cache)
        #expect(argument { _ = try paged.addSequence(copying: f32Cache, row: 0) } == "cache")
        let f32Paged = try f32Model.makePagedCache(blockCount: 4, activationType: .bf16)
        let bf16Cache = bf16Model.makeCache(batch: 1, capacity: 4, activationType: .bf16)
        _ = try bf16Model.forward(tokens: [1, 2], mask: nil, cache: bf16Cache)
        let sequence = try f32Paged.addSequence(copying: bf16Cache, row: 0)
        #expect(argument { _ = try f32Model.forward(tokens: [5], pagedCache: f32Paged, sequences: [sequence]) } == "pagedCache")
        #expect(try f32Paged.length(of: sequence) == 2)
    }
}
