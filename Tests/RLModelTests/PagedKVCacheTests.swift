import RLTensor
import Testing

@testable import RLModel

/// The paged KV cache itself: prompts stored once and shared by their samples, copy on write of
/// a shared partial block, blocks freed and reused, decode logits equal to the contiguous cache's.
@Suite("Paged KV cache")
struct PagedKVCacheTests {
    /// Prefills `prompts` left-padded into a contiguous cache and stores each in `cache`, forked
    /// `g` times (the stored prompt released); returns each prompt's samples' ids.
    static func expand(_ model: any CausalLanguageModel, _ prompts: [[Int32]], g: Int, into cache: PagedKVCache) throws -> [[Int]] {
        let batch = LeftPaddedBatch(prompts)
        let prefill = model.makeCache(batch: prompts.count, capacity: batch.length)
        _ = try model.forward(tokens: batch.ids, mask: batch.mask, cache: prefill)
        return try prompts.indices.map { row in
            let stored = try cache.addSequence(copying: prefill, row: row)
            defer { try? cache.release(stored) }
            return try (0..<g).map { _ in try cache.fork(stored) }
        }
    }

    @Test("a prompt's blocks are stored once for its samples; decoding copies only the shared partial block")
    func sharing() throws {
        let (model, prompts) = try PagedGenerationTests.load("qwen2-tiny")  // 3, 11, 16 and 6 tokens
        let g = 5, blockSize = 4
        let cache = try model.makePagedCache(blockCount: 64, blockSize: blockSize)
        let samples = try Self.expand(model, prompts, g: g, into: cache)
        let promptBlocks = prompts.map { ($0.count + blockSize - 1) / blockSize }
        #expect(cache.usedBlocks == promptBlocks.reduce(0, +))  // 1 + 3 + 4 + 2, not times g
        for (p, ids) in samples.enumerated() {
            let first = try cache.blocks(of: ids[0])
            #expect(first.count == promptBlocks[p] && ids.allSatisfy { (try? cache.blocks(of: $0)) == first })
            #expect(try ids.allSatisfy { try cache.length(of: $0) == prompts[p].count })
        }
        // One decode step: a partial last block is copied for all but its last writer; a full one
        // (the 16-token prompt) gets a fresh block per sample.
        let all = samples.flatMap { $0 }
        _ = try model.forward(tokens: [Int32](repeating: 7, count: all.count), pagedCache: cache, sequences: all)
        #expect(cache.usedBlocks == promptBlocks.reduce(0, +) + prompts.count * (g - 1) + 1)
        for (p, ids) in samples.enumerated() {
            let tables = try ids.map { try cache.blocks(of: $0) }
            let shared = prompts[p].count / blockSize
            #expect(Set(tables.map { Array($0.prefix(shared)) }).count == 1, "full prompt blocks stay shared")
            #expect(Set(tables.map { $0.last! }).count == g, "each sample writes its own last block")
        }
        for id in all { try cache.release(id) }
        #expect(cache.usedBlocks == 0 && cache.freeBlocks == 64)
    }

    @Test("released blocks are reused, and running out throws without changing the cache")
    func reuseAndExhaustion() throws {
        let (model, prompts) = try PagedGenerationTests.load("qwen2-tiny")
        let cache = try model.makePagedCache(blockCount: 4, blockSize: 4)
        let first = try Self.expand(model, [prompts[1]], g: 2, into: cache)[0]  // 11 tokens: 3 blocks
        let before = Set(try cache.blocks(of: first[0]))
        // The 12th tokens fill the last block (one copy of the shared partial block: 4 used); the
        // 13th need 2 fresh blocks, and none is free.
        _ = try model.forward(tokens: [3, 4], pagedCache: cache, sequences: first)
        #expect(cache.freeBlocks == 0)
        #expect(throws: LanguageModelError.self) { try model.forward(tokens: [5, 6], pagedCache: cache, sequences: first) }
        #expect(try first.allSatisfy { try cache.length(of: $0) == 12 } && cache.usedBlocks == 4)
        for id in first { try cache.release(id) }
        let second = try Self.expand(model, [prompts[2]], g: 1, into: cache)[0]  // 16 tokens: all 4 blocks again
        #expect(Set(try cache.blocks(of: second[0])).isSuperset(of: before))
        #expect(throws: LanguageModelError.self) { try cache.length(of: first[0]) }
        #expect(throws: LanguageModelError.self) { try cache.fork(first[1]) }
        #expect(throws: LanguageModelError.self) { try model.forward(tokens: [1, 2], pagedCache: cache, sequences: [second[0], second[0]]) }
        #expect(throws: LanguageModelError.self) { try model.makePagedCache(blockCount: 0, blockSize: 4) }
        #expect(throws: LanguageModelError.self) { try model.makePagedCache(blockCount: 4, blockSize: 0) }
    }

    @Test("storing a row that is not a left-padded prompt of this model shape throws")
    func badRows() throws {
        let (model, prompts) = try PagedGenerationTests.load("qwen2-tiny")
        let cache = try model.makePagedCache(blockCount: 8, blockSize: 4)
        let rightPadded = model.makeCache(batch: 1, capacity: 4)
        _ = try model.forward(tokens: [5, 6, 7, 8], mask: [1, 1, 1, 0], cache: rightPadded)
        #expect(throws: LanguageModelError.self) { try cache.addSequence(copying: rightPadded, row: 0) }
        #expect(throws: LanguageModelError.self) { try cache.addSequence(copying: rightPadded, row: 1) }
        let (other, _) = try PagedGenerationTests.load("qwen3-tiny")
        let foreign = other.makeCache(batch: 1, capacity: 3)
        _ = try other.forward(tokens: prompts[0], cache: foreign)
        #expect(other.config.headDim == 32 && model.config.headDim == 16)
        #expect(throws: LanguageModelError.self) { try cache.addSequence(copying: foreign, row: 0) }
        #expect(cache.usedBlocks == 0)
    }

    @Test("decode logits equal the contiguous cache's", arguments: PagedGenerationTests.fixtures)
    func decodeMatchesContiguous(_ fixture: String) throws {
        let (model, prompts) = try PagedGenerationTests.load(fixture)
        let cache = try model.makePagedCache(blockCount: 40, blockSize: 4)
        let ids = try Self.expand(model, prompts, g: 1, into: cache).map { $0[0] }
        let batch = LeftPaddedBatch(prompts)
        let contiguous = model.makeCache(batch: prompts.count, capacity: batch.length + 6)
        _ = try model.forward(tokens: batch.ids, mask: batch.mask, cache: contiguous)
        for step in 0..<6 {
            let tokens = prompts.indices.map { Int32((step * 31 + $0 * 17) % 500) }
            let want = try model.forward(tokens: tokens, cache: contiguous).toFloatArray()
            let got = try model.forward(tokens: tokens, pagedCache: cache, sequences: ids).toFloatArray()
            let worst = zip(want, got).map { abs($0 - $1) }.max()!
            #expect(worst <= 1e-4, "\(fixture) step \(step): logits differ by \(worst)")
        }
    }
}
