/// The private memory of one CUDA graph recording: the blocks its buffers get while it is
/// captured, reused within the capture as those buffers are released (a captured stream is one
/// chain of work, so reuse is ordered exactly as in eager execution), and kept from the shared
/// cache afterwards, because every replay writes to them again. Pure bookkeeping; the allocator
/// hands out and takes back the device memory.
struct CUDACapturePool: Sendable {
    /// Every block of the pool: address → size.
    private(set) var blocks: [UInt64: Int] = [:]
    /// Blocks of the pool that no buffer holds, by size.
    private var free: [Int: [UInt64]] = [:]

    /// A free block of the pool of `size` bytes (a size class of `CUDAAllocator`) or at most 25%
    /// larger, now held; nil when there is none.
    mutating func take(_ size: Int) -> (address: UInt64, size: Int)? {
        var blockSize = size
        if free[size]?.isEmpty ?? true {
            guard let fit = free.filter({ $0.key > size && $0.key <= size + size / 4 && !$0.value.isEmpty }).keys.min() else { return nil }
            blockSize = fit
        }
        guard let address = free[blockSize]?.popLast() else { return nil }
        return (address, blockSize)
    }

    /// Adds a block the allocator just handed out (held).
    mutating func add(_ address: UInt64, size: Int) {
        precondition(blocks[address] == nil, "internal: block \(address) is already in the capture pool")
        blocks[address] = size
    }

    /// Takes back a held block of the pool from its released buffer.
    mutating func release(_ address: UInt64) {
        guard let size = blocks[address] else { preconditionFailure("internal: block \(address) is not in the capture pool") }
        free[size, default: []].append(address)
    }

    /// Whether `address` is a block of the pool.
    func contains(_ address: UInt64) -> Bool { blocks[address] != nil }

    /// The pool's blocks split into those no buffer holds and those a live buffer still holds.
    var partition: (free: [(address: UInt64, size: Int)], held: [UInt64]) {
        let freeSet = Set(free.values.joined())
        let unheld = blocks.filter { freeSet.contains($0.key) }.map { (address: $0.key, size: $0.value) }
        return (unheld, blocks.keys.filter { !freeSet.contains($0) })
    }
}
