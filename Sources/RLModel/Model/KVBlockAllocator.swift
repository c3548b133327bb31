/// Hands out the blocks of a `PagedKVCache`'s pool by index, with reference counts: a block is
/// held by every sequence whose table lists it, and returns to the free list when its last
/// holder releases it. The most recently freed block is handed out first.
struct KVBlockAllocator {
    /// Holders of each block (0: free).
    private var referenceCounts: [Int]
    /// Free blocks; the last one is handed out next.
    private var free: [Int32]

    init(blockCount: Int) {
        referenceCounts = [Int](repeating: 0, count: blockCount)
        free = (0..<Int32(blockCount)).reversed()
    }

    var freeCount: Int { free.count }
    var usedCount: Int { referenceCounts.count - free.count }

    /// A free block, now held once; nil when none is left.
    mutating func allocate() -> Int32? {
        guard let block = free.popLast() else { return nil }
        referenceCounts[Int(block)] = 1
        return block
    }

    /// One more holder of a held block.
    mutating func retain(_ block: Int32) {
        precondition(referenceCounts[Int(block)] > 0, "internal: retaining free KV block \(block)")
        referenceCounts[Int(block)] += 1
    }

    /// One holder fewer; the block is free again when none is left.
    mutating func release(_ block: Int32) {
        precondition(referenceCounts[Int(block)] > 0, "internal: releasing free KV block \(block)")
        referenceCounts[Int(block)] -= 1
        if referenceCounts[Int(block)] == 0 { free.append(block) }
    }

    /// How many sequences hold the block (more than one: it must be copied before a write).
    func holders(_ block: Int32) -> Int { referenceCounts[Int(block)] }
}
