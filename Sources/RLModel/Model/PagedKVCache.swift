import RLTensor

/// Keys and values of many sequences in a pool of fixed-size blocks per layer, each sequence
/// listing its blocks in a block table: memory grows by one block at a time, and sequences can
/// share blocks without copying them.
///
/// A prompt is prefilled through a contiguous `KVCache` and stored once (`addSequence`); each of
/// its samples is a `fork` that references the prompt's blocks. A shared block is copied only
/// when a sequence writes into it (its partly filled last block, on the first decode step), so
/// after forking G samples the pool holds the prompt's blocks once, and while decoding each
/// sample owns only the blocks of its own tokens (plus its copy of the prompt's last partial
/// block). `release` gives a finished sequence's blocks back for new sequences. Decoding
/// (`CausalLanguageModel.forward(tokens:pagedCache:sequences:)`) reads the blocks in place
/// through the tables (`Tensor.pagedDecodeAttention`).
public final class PagedKVCache: @unchecked Sendable {
    /// Tokens per block.
    public let blockSize: Int
    /// Blocks in each layer's pool.
    public let blockCount: Int
    /// The element type of the pools and of the activations of decode steps through this cache
    /// (f32, or bf16 computed in f32).
    public let activationType: DType
    /// Per layer, `[blockCount, blockSize, kvHeads, headDim]` of `activationType`.
    private let keys: [Tensor]
    private let values: [Tensor]
    /// Each token's `[kvHeads, headDim]`, and where the pools live.
    private let tokenShape: [Int]
    private let device: Device
    private var allocator: KVBlockAllocator
    /// Each live sequence's blocks, in token order, and its cached tokens.
    private var sequences: [Int: (blocks: [Int32], length: Int)] = [:]
    private var nextSequence = 0
    /// The sequences of the decode step under way.
    private var stepSequences: [Int]?

    /// An empty cache of `blockCount` blocks of `blockSize` tokens for `config`'s layers on
    /// `device`, whose keys, values and decode activations are `activationType` (f32, or bf16
    /// computed in f32 with a model of bf16 matrices). Throws `LanguageModelError.invalidArgument`
    /// unless both counts are ≥ 1 and the type is f32 or bf16.
    public init(config: ModelConfig, blockCount: Int, blockSize: Int = 16, device: Device = .cpu, activationType: DType = .f32) throws {
        guard blockSize >= 1 else { throw LanguageModelError.invalidArgument("blockSize", "must be at least 1, got \(blockSize)") }
        guard blockCount >= 1 else { throw LanguageModelError.invalidArgument("blockCount", "must be at least 1, got \(blockCount)") }
        guard activationType == .f32 || activationType == .bf16 else {
            throw LanguageModelError.invalidArgument("activationType", "must be f32 or bf16, got \(activationType)")
        }
        self.activationType = activationType
        self.blockSize = blockSize
        self.blockCount = blockCount
        tokenShape = [config.numKeyValueHeads, config.headDim]
        self.device = device
        let shape = [blockCount, blockSize] + tokenShape
        keys = (0..<config.numHiddenLayers).map { _ in Tensor.zeros(shape, dtype: activationType, device: device) }
        values = (0..<config.numHiddenLayers).map { _ in Tensor.zeros(shape, dtype: activationType, device: device) }
        allocator = KVBlockAllocator(blockCount: blockCount)
    }

    /// Bytes of one block: keys and values of every layer, of `activationType`.
    public static func bytesPerBlock(config: ModelConfig, blockSize: Int, activationType: DType = .f32) -> Int {
        2 * config.numHiddenLayers * blockSize * config.numKeyValueHeads * config.headDim * activationType.byteSize
    }

    /// Blocks held by at least one sequence.
    public var usedBlocks: Int { allocator.usedCount }
    /// Blocks free for new tokens.
    public var freeBlocks: Int { allocator.freeCount }

    /// The tokens cached for `sequence`. Throws `LanguageModelError.invalidArgument` for an
    /// unknown (or released) sequence.
    public func length(of sequence: Int) throws -> Int { try entry(sequence).length }

    /// The pool blocks `sequence` reads, in token order (same errors as `length(of:)`).
    public func blocks(of sequence: Int) throws -> [Int] { try entry(sequence).blocks.map { Int($0) } }

    private func entry(_ sequence: Int) throws -> (blocks: [Int32], length: Int) {
        guard let entry = sequences[sequence] else {
            throw LanguageModelError.invalidArgument("sequence", "\(sequence) is not a live sequence of this cache")
        }
        return entry
    }

    /// Stores the real tokens of row `row` of a prefilled contiguous `cache` in fresh blocks and
    /// returns the new sequence's id. Throws `LanguageModelError.invalidArgument` for a cache of
    /// another model shape, activation type or device, a row outside it, a row that is not left-padded, or when the
    /// free blocks cannot hold its tokens (nothing is stored then).
    public func addSequence(copying cache: KVCache, row: Int) throws -> Int {
        guard cache.layerShape == tokenShape && cache.layerCount == keys.count && cache.device == device
                && cache.activationType == activationType else {
            throw LanguageModelError.invalidArgument("cache", "holds \(cache.layerCount) layers of \(cache.layerShape) \(cache.activationType) on \(cache.device); "
                + "this paged cache has \(keys.count) layers of \(tokenShape) \(activationType) on \(device)")
        }
        guard row >= 0 && row < cache.batch else {
            throw LanguageModelError.invalidArgument("row", "must be in 0..<\(cache.batch), got \(row)")
        }
        let tokens = Int(cache.tokenCounts[row])
        let needed = (tokens + blockSize - 1) / blockSize
        guard needed <= allocator.freeCount else {
            throw LanguageModelError.invalidArgument("cache", "\(tokens) tokens need \(needed) blocks; \(allocator.freeCount) are free")
        }
        var rows: [(keys: Tensor, values: Tensor)] = []
        for layer in keys.indices {
            guard let layerRows = cache.realTokens(layer: layer, row: row) else {
                throw LanguageModelError.invalidArgument("row", "row \(row) is not left-padded (its tokens are not the last of the cache)")
            }
            rows.append(layerRows)
        }
        var blocks: [Int32] = []
        for first in stride(from: 0, to: tokens, by: blockSize) {
            let block = allocator.allocate()!  // counted above
            let count = min(blockSize, tokens - first)
            for layer in keys.indices {
                blockSlots(keys[layer], block, count).assign(rows[layer].keys.sliced(axis: 0, first..<(first + count)))
                blockSlots(values[layer], block, count).assign(rows[layer].values.sliced(axis: 0, first..<(first + count)))
            }
            blocks.append(block)
        }
        return insert(blocks: blocks, length: tokens)
    }

    /// The first `count` slots of `block` in a layer's pool (`[count, kvHeads, headDim]`).
    private func blockSlots(_ pool: Tensor, _ block: Int32, _ count: Int) -> Tensor {
        pool.sliced(axis: 0, Int(block)..<(Int(block) + 1)).sliced(axis: 1, 0..<count)
            .reshaped([count] + Array(pool.shape.dropFirst(2)))
    }

    private func insert(blocks: [Int32], length: Int) -> Int {
        let id = nextSequence
        nextSequence += 1
        sequences[id] = (blocks, length)
        return id
    }

    /// A new sequence with the same tokens as `sequence`, sharing all its blocks (no copy; a
    /// shared block is copied when either sequence first writes into it). Same errors as
    /// `length(of:)`.
    public func fork(_ sequence: Int) throws -> Int {
        let source = try entry(sequence)
        for block in source.blocks { allocator.retain(block) }
        return insert(blocks: source.blocks, length: source.length)
    }

    /// Ends `sequence`: its blocks go back to the pool unless other sequences still share them.
    /// Same errors as `length(of:)`.
    public func release(_ sequence: Int) throws {
        for block in try entry(sequence).blocks { allocator.release(block) }
        sequences[sequence] = nil
    }

    /// Starts a decode step of one new token for each of `ids` (distinct live sequences): gives
    /// each a slot for it (a fresh block when its last one is full, a private copy when its last
    /// one is shared) and returns what the step's kernels read, with the block tables at least
    /// `tableWidth` blocks wide (padded with block 0, which is never read). Throws
    /// `LanguageModelError.invalidArgument` for unknown or repeated sequences or when the free
    /// blocks do not suffice (nothing changes then).
    func beginStep(sequences ids: [Int], tableWidth: Int = 0) throws -> PagedStepValues {
        guard Set(ids).count == ids.count else { throw LanguageModelError.invalidArgument("sequences", "lists a sequence twice") }
        let entries = try ids.map(entry)
        // A full last block needs a fresh one; a shared last block needs a copy for each of its
        // writers here, except the last when no holder outside the step is left.
        var writers: [Int32: Int] = [:]
        for e in entries where e.length % blockSize != 0 { writers[e.blocks[e.length / blockSize], default: 0] += 1 }
        let needed = entries.filter { $0.length % blockSize == 0 }.count
            + writers.map { block, count in min(count, allocator.holders(block) - 1) }.reduce(0, +)
        guard needed <= allocator.freeCount else {
            throw LanguageModelError.invalidArgument("pagedCache", "the step needs \(needed) new blocks; \(allocator.freeCount) are free")
        }
        var slots: [Int32] = [], tables: [[Int32]] = []
        for (id, var entry) in zip(ids, entries) {
            let index = entry.length / blockSize
            if entry.length % blockSize == 0 {
                entry.blocks.append(allocator.allocate()!)  // counted above
            } else if allocator.holders(entry.blocks[index]) > 1 {
                let shared = entry.blocks[index], copy = allocator.allocate()!  // counted above
                for pool in keys + values {
                    pool.sliced(axis: 0, Int(copy)..<(Int(copy) + 1)).assign(pool.sliced(axis: 0, Int(shared)..<(Int(shared) + 1)))
                }
                allocator.release(shared)
                entry.blocks[index] = copy
            }
            slots.append(Int32(Int(entry.blocks[index]) * blockSize + entry.length % blockSize))
            tables.append(entry.blocks)
            sequences[id] = entry
        }
        let width = max(tableWidth, tables.map(\.count).max() ?? 0)
        stepSequences = ids
        return PagedStepValues(positions: entries.map { Int32($0.length) }, slots: slots,
                               tables: tables.flatMap { $0 + [Int32](repeating: 0, count: width - $0.count) },
                               lengths: entries.map { Int32($0.length + 1) }, tableWidth: width)
    }

    /// Writes layer `layer`'s keys and values of the step's tokens (`[sequences, 1, kvHeads,
    /// headDim]`) into their slots and returns the attention of `query` (`[sequences, 1, heads,
    /// headDim]`) over each sequence's cached tokens, `[sequences, 1, heads, headDim]`; the slots,
    /// tables and lengths are read from `step` on the device.
    func attend(layer: Int, query: Tensor, keys newKeys: Tensor, values newValues: Tensor, step: PagedStepTensors) -> Tensor {
        let rows = [step.slots.count] + tokenShape
        keys[layer].reshaped([blockCount * blockSize] + tokenShape).assignRows(step.slots, from: newKeys.reshaped(rows))
        values[layer].reshaped([blockCount * blockSize] + tokenShape).assignRows(step.slots, from: newValues.reshaped(rows))
        return Tensor.pagedDecodeAttention(query: query, keyBlocks: keys[layer], valueBlocks: values[layer], blockTables: step.tables,
                                           lengths: step.lengths, maxLength: step.maxLength)
    }

    /// Finishes the step begun by `beginStep`: each of its sequences holds one more token.
    func commitStep() {
        guard let ids = stepSequences else { preconditionFailure("internal: paged KV cache step committed twice") }
        for id in ids { sequences[id]!.length += 1 }  // live: checked by beginStep
        stepSequences = nil
    }
}
