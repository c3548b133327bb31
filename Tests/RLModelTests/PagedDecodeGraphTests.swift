import RLTensor
import Testing

@testable import RLModel

/// Decoding through a `PagedDecodeGraph` (the step's inputs staged into tensors kept per batch
/// shape, the step recorded and replayed where the backend records) against the eager paged
/// forward: bit-identical logits, tokens and log-probs, with the step prepared again exactly when
/// the batch shape changes. On the CPU the kept step re-runs the one closure made for its shape,
/// so a value baked into it instead of read from the staged inputs shows up as a wrong logit.
@Suite("Paged decode graph")
struct PagedDecodeGraphTests {
    @Test("the same logits as the eager step, prepared again on each new batch shape", arguments: PagedGenerationTests.fixtures)
    func logitsMatchEager(_ fixture: String) throws {
        let (model, prompts) = try PagedGenerationTests.load(fixture)
        let blockSize = 4
        let eagerCache = try model.makePagedCache(blockCount: 64, blockSize: blockSize)
        let graphCache = try model.makePagedCache(blockCount: 64, blockSize: blockSize)
        let eagerIDs = try PagedKVCacheTests.expand(model, prompts, g: 2, into: eagerCache).flatMap { $0 }
        let graphIDs = try PagedKVCacheTests.expand(model, prompts, g: 2, into: graphCache).flatMap { $0 }
        let graph = PagedDecodeGraph()  // tables as wide as needed: they widen as the sequences grow
        var live = Array(eagerIDs.indices), shapes: [[Int]] = []
        for step in 0..<9 {
            if step == 3 { live.removeAll { $0 % 3 == 1 } }  // sequences finish: a smaller batch
            if step == 6 { live.removeFirst() }
            let tokens = live.map { Int32((step * 37 + $0 * 11) % 500) }
            let want = try model.forward(tokens: tokens, pagedCache: eagerCache, sequences: live.map { eagerIDs[$0] }).toFloatArray()
            let got = try model.forward(tokens: tokens, pagedCache: graphCache, sequences: live.map { graphIDs[$0] }, graph: graph)
                .toFloatArray()
            let differing = zip(got, want).filter { $0 != $1 }.count
            #expect(got.count == want.count && differing == 0, "\(fixture) step \(step): \(differing) logits differ")
            let width = try live.map { try graphCache.blocks(of: graphIDs[$0]).count }.max()!
            if shapes.last != [live.count, width] { shapes.append([live.count, width]) }
        }
        #expect(shapes.count >= 3, "\(shapes)")
        #expect(graph.preparedShapes == shapes.count, "\(fixture): \(shapes)")
    }

    @Test("a table width covering the whole run prepares one step per batch size")
    func minimumWidth() throws {
        let (model, prompts) = try PagedGenerationTests.load("qwen2-tiny")
        let cache = try model.makePagedCache(blockCount: 64, blockSize: 4)
        let ids = try PagedKVCacheTests.expand(model, prompts, g: 1, into: cache).map { $0[0] }
        let graph = PagedDecodeGraph(minimumTableWidth: 8)  // 16 + 12 tokens at most
        for step in 0..<12 {
            let live = step < 6 ? ids : Array(ids.dropLast())
            _ = try model.forward(tokens: live.map { Int32(($0 + step) % 500) }, pagedCache: cache, sequences: live, graph: graph)
        }
        #expect(graph.preparedShapes == 2)
    }

    @Test("generation through the graph gives exactly the eager run's tokens and log-probs", arguments: PagedGenerationTests.fixtures)
    func generationMatchesEager(_ fixture: String) throws {
        let (model, prompts) = try PagedGenerationTests.load(fixture)
        for (name, sampling) in PagedGenerationTests.samplings {
            var options = GenerationOptions(maxNewTokens: 16, sampling: sampling, samplesPerPrompt: 3, seed: 11)
            options.stopTokenIDs = [PagedGenerationTests.midwayToken(try Generator(model: model).generate(prompts: prompts, options: options))]
            // A budget of two prompts' worst cases at a time: prompts are admitted as others finish.
            options.pagedCache = PagedCacheOptions(blockSize: 4, maxCachedTokens: 4 * 40, recordsDecodeStep: false)
            let eager = try Generator(model: model).generate(prompts: prompts, options: options)
            #expect(eager.contains { $0.finishReason == .eos } && eager.contains { $0.finishReason == .length })
            options.pagedCache?.recordsDecodeStep = true
            let recorded = try Generator(model: model).generate(prompts: prompts, options: options)
            PagedGenerationTests.expectSame(recorded, eager, tolerance: 0, "\(fixture) \(name)")
        }
    }
}
