#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import Testing
@testable import RLTensor

/// The CPU backend's pool of freed large buffers: what it keeps, what it gives back, and when it
/// frees kept buffers so that the footprint (live + kept) never exceeds the most ever live plus
/// the pool's headroom.
@Suite("Host buffer pool")
struct HostBufferPoolTests {
    private static let mib = 1 << 20

    /// A pool that has seen `highWater` MiB live, then kept one buffer of each size (in MiB),
    /// returned in that order.
    private func pool(highWater: Int, keeping sizes: [Int]) -> HostBufferPool {
        let pool = HostBufferPool(capacity: 64 << 20)
        pool.makeRoom(liveBytes: highWater * Self.mib)
        for size in sizes { #expect(pool.give(malloc(size * Self.mib)!, byteCount: size * Self.mib)) }
        return pool
    }

    /// The sizes (MiB) the pool still serves, by taking one of each size asked for.
    private func kept(_ pool: HostBufferPool, among sizes: [Int]) -> [Int] {
        sizes.filter { size in
            guard let pointer = pool.take(byteCount: size * Self.mib) else { return false }
            free(pointer)
            return true
        }
    }

    @Test("an allocation within the high-water mark keeps the large buffers a loop reuses")
    func smallAllocationKeepsLargeBuffers() {
        // 20 MiB were live once; now 5 are live and 13 kept: 18 fits, nothing is freed.
        let pool = pool(highWater: 20, keeping: [2, 8, 3])
        pool.makeRoom(liveBytes: 5 * Self.mib)
        #expect(kept(pool, among: [2, 8, 3]) == [2, 8, 3])
    }

    @Test("above the high-water mark the smallest buffer that covers the excess goes first, else the smallest ones")
    func releasesBestFit() {
        let pool1 = pool(highWater: 10, keeping: [2, 8, 3])
        pool1.makeRoom(liveBytes: 9 * Self.mib)   // 9 + 13 = 22: 12 too many, more than any one buffer
        #expect(kept(pool1, among: [2, 8, 3]) == [], "2 then 3 then 8 are freed")
        let pool2 = pool(highWater: 12, keeping: [2, 8, 3])
        pool2.makeRoom(liveBytes: 1 * Self.mib)   // 1 + 13 = 14: 2 too many; the 2 MiB buffer covers it
        #expect(kept(pool2, among: [2, 8, 3]) == [8, 3])
        let pool3 = pool(highWater: 10, keeping: [2, 8, 3])
        pool3.makeRoom(liveBytes: 2 * Self.mib)   // 2 + 13 = 15: 5 too many; the 8 MiB buffer is the smallest that covers it
        #expect(kept(pool3, among: [2, 8, 3]) == [2, 3])
    }

    @Test("a headroom lets kept buffers exceed the high-water mark by that much, no more")
    func headroom() {
        let asked = Mutex<[Int]>([])
        let pool = HostBufferPool(capacity: 64 << 20) { most in
            asked.withLock { $0.append(most) }
            return most / 8
        }
        pool.makeRoom(liveBytes: 80 * Self.mib)
        for size in [8, 20] { #expect(pool.give(malloc(size * Self.mib)!, byteCount: size * Self.mib)) }
        pool.makeRoom(liveBytes: 60 * Self.mib)   // 60 + 28 = 88: within 80 + 10
        #expect(asked.withLock { $0 } == [80 * Self.mib], "asked only once live and kept passed the mark")
        #expect(kept(pool, among: [8, 20]) == [8, 20])
        for size in [8, 20] { #expect(pool.give(malloc(size * Self.mib)!, byteCount: size * Self.mib)) }
        pool.makeRoom(liveBytes: 65 * Self.mib)   // 65 + 28 = 93: 3 beyond; the 8 MiB buffer covers it
        #expect(kept(pool, among: [8, 20]) == [20])
    }

    @Test("the capacity bounds what is kept; small buffers are never kept")
    func capacity() {
        let pool = HostBufferPool(capacity: 4 * Self.mib)
        #expect(pool.give(malloc(3 * Self.mib)!, byteCount: 3 * Self.mib))
        let refused = malloc(2 * Self.mib)!
        #expect(!pool.give(refused, byteCount: 2 * Self.mib))
        free(refused)
        let small = malloc(4096)!
        #expect(!pool.give(small, byteCount: 4096))
        free(small)
        #expect(kept(pool, among: [3, 2]) == [3])
    }
}
