@testable import RLTensor
import Testing

/// The bookkeeping of a CUDA graph's private memory (no GPU needed): blocks released during the
/// capture are handed out again within it, by size class, and the pool reports which of its
/// blocks buffers still hold.
@Suite("CUDA capture pool")
struct CUDACapturePoolTests {
    @Test func releasedBlocksAreReusedBySizeClass() {
        var pool = CUDACapturePool()
        #expect(pool.take(1024) == nil)
        pool.add(0x1000, size: 1024)
        pool.add(0x2000, size: 4 << 20)
        pool.add(0x3000, size: 512)
        #expect(pool.take(1024) == nil)  // every block is held
        pool.release(0x1000)
        pool.release(0x2000)
        #expect(pool.take(2048) == nil)  // no free block of that class or at most 25% larger
        let exact = pool.take(1024)
        #expect(exact?.address == 0x1000 && exact?.size == 1024)
        #expect(pool.take(1024) == nil)
        let larger = pool.take(4 << 20 - (512 << 10))  // 3.5 MiB: the free 4 MiB block is within 25%
        #expect(larger?.address == 0x2000 && larger?.size == 4 << 20)
        #expect(pool.contains(0x3000) && !pool.contains(0x4000))
    }

    @Test func partitionSplitsFreeFromHeld() {
        var pool = CUDACapturePool()
        for (i, size) in [512, 1024, 1024].enumerated() { pool.add(UInt64(i + 1) << 12, size: size) }
        pool.release(2 << 12)
        let (free, held) = pool.partition
        #expect(free.map(\.address) == [2 << 12] && free.map(\.size) == [1024])
        #expect(Set(held) == [1 << 12, 3 << 12])
        _ = pool.take(1024)  // held again
        #expect(pool.partition.free.isEmpty && pool.partition.held.count == 3)
    }
}
