/// Memory statistics of a `CUDABackend`'s caching allocator (bytes).
public struct CUDAMemoryStatistics: Sendable, Equatable, CustomStringConvertible {
    /// Bytes in buffers handed out and not yet released.
    public var allocatedBytes = 0
    /// Bytes held from the driver (handed out plus cached).
    public var reservedBytes = 0
    public var peakAllocatedBytes = 0
    public var peakReservedBytes = 0
    /// `cuMemAlloc` calls (cache misses).
    public var deviceAllocations = 0
    /// Requests served from the cache.
    public var cacheHits = 0

    public var description: String {
        func mib(_ b: Int) -> String { "\(b / (1 << 20)) MiB" }
        return "allocated \(mib(allocatedBytes)) (peak \(mib(peakAllocatedBytes))), reserved \(mib(reservedBytes)) "
            + "(peak \(mib(peakReservedBytes))), \(deviceAllocations) device allocations, \(cacheHits) cache hits"
    }
}

/// A caching device allocator: blocks are rounded (512 B below 1 MiB, 2 MiB above) and kept in
/// per-size free lists when released, so steady-state training does no `cuMemAlloc`; a request
/// takes its own size class or the smallest cached block up to 25% larger. Released
/// blocks are reused by later work on the same stream, which orders the reuse after every
/// earlier use. When the driver runs out of memory the cache is emptied and the request retried.
/// While a CUDA graph is captured, requests go to its private pool (`CUDACapturePool`), whose
/// blocks stay out of the cache until the graph is dropped.
final class CUDAAllocator: @unchecked Sendable {
    fileprivate struct State: Sendable {
        var free: [Int: [UInt64]] = [:]
        var stats = CUDAMemoryStatistics()
        /// Capture pools by id, the one being captured, and which pool each pool block is in.
        var pools: [Int: CUDACapturePool] = [:]
        var activePool: Int?
        var nextPool = 0
        var poolOfBlock: [UInt64: Int] = [:]
    }
    private let driver: CUDADriver
    private let context: OpaquePointer?
    private let state = LockedBox(State())

    init(driver: CUDADriver, context: OpaquePointer?) {
        self.driver = driver
        self.context = context
    }

    static func roundedSize(_ bytes: Int) -> Int {
        let small = 1 << 20, page = 2 << 20
        if bytes <= small { return max(512, (bytes + 511) / 512 * 512) }
        return (bytes + page - 1) / page * page
    }

    /// A block of at least `bytes`, or the driver's error.
    func allocate(_ bytes: Int) throws -> (address: UInt64, size: Int) {
        let size = CUDAAllocator.roundedSize(bytes)
        if let hit = state.withLock({ s -> (UInt64, Int)? in
            // A block the capture under way has released (still counted as allocated).
            if let pool = s.activePool, let reused = s.pools[pool]!.take(size) { return reused }  // active pools exist
            // The exact size class, else the smallest cached block at most 25% larger (sequence
            // lengths vary between steps, so activations rarely repeat a size exactly).
            var blockSize = size
            if s.free[size]?.isEmpty ?? true {
                guard let fit = s.free.filter({ $0.key > size && $0.key <= size + size / 4 && !$0.value.isEmpty }).keys.min() else { return nil }
                blockSize = fit
            }
            guard let address = s.free[blockSize]?.popLast() else { return nil }
            s.stats.cacheHits += 1
            s.stats.allocatedBytes += blockSize
            s.stats.peakAllocatedBytes = max(s.stats.peakAllocatedBytes, s.stats.allocatedBytes)
            s.addToActivePool(address, size: blockSize)
            return (address, blockSize)
        }) {
            return hit
        }
        _ = driver.cuCtxSetCurrent(context)
        var address: UInt64 = 0
        var status = driver.cuMemAlloc(&address, size)
        if status == CUDADriver.errorOutOfMemory {
            emptyCache()
            status = driver.cuMemAlloc(&address, size)
        }
        if status != 0 {
            let stats = statistics
            throw CUDAError("cuMemAlloc of \(size) bytes failed: \(driver.describe(status)) (\(stats)); reduce the batch or sequence length")
        }
        state.withLock { s in
            s.stats.deviceAllocations += 1
            s.stats.allocatedBytes += size
            s.stats.reservedBytes += size
            s.stats.peakAllocatedBytes = max(s.stats.peakAllocatedBytes, s.stats.allocatedBytes)
            s.stats.peakReservedBytes = max(s.stats.peakReservedBytes, s.stats.reservedBytes)
            s.addToActivePool(address, size: size)
        }
        return (address, size)
    }

    /// Returns a block to the cache, or to its capture pool.
    func release(_ address: UInt64, size: Int) {
        state.withLock { s in
            if let pool = s.poolOfBlock[address] {
                s.pools[pool]!.release(address)  // listed pools exist
                return
            }
            s.free[size, default: []].append(address)
            s.stats.allocatedBytes -= size
        }
    }

    /// Starts a capture pool: requests are served from it (and the cache) until `endPool`.
    /// Returns its id.
    func beginPool() -> Int {
        state.withLock { s in
            precondition(s.activePool == nil, "internal: capture pools do not nest")
            let id = s.nextPool
            s.nextPool += 1
            s.pools[id] = CUDACapturePool()
            s.activePool = id
            return id
        }
    }

    /// Ends the capture: the pool keeps its blocks (released ones included) for its graph.
    func endPool() {
        state.withLock { $0.activePool = nil }
    }

    /// Drops pool `id` (its graph is gone, or the capture failed): blocks no buffer holds go to
    /// the cache, held ones return there when their buffers are released.
    func dropPool(_ id: Int) {
        state.withLock { s in
            guard let pool = s.pools.removeValue(forKey: id) else { return }
            if s.activePool == id { s.activePool = nil }
            let (free, held) = pool.partition
            for block in free {
                s.free[block.size, default: []].append(block.address)
                s.stats.allocatedBytes -= block.size
                s.poolOfBlock[block.address] = nil
            }
            for address in held { s.poolOfBlock[address] = nil }
        }
    }

    /// Gives every cached block back to the driver.
    func emptyCache() {
        let blocks = state.withLock { s -> [(UInt64, Int)] in
            let all = s.free.flatMap { size, list in list.map { ($0, size) } }
            s.free = [:]
            s.stats.reservedBytes -= all.reduce(0) { $0 + $1.1 }
            return all
        }
        guard !blocks.isEmpty else { return }
        _ = driver.cuCtxSetCurrent(context)
        // Released blocks may still be read by queued kernels: let the device finish first.
        _ = driver.cuCtxSynchronize()
        for (address, _) in blocks { _ = driver.cuMemFree(address) }
    }

    var statistics: CUDAMemoryStatistics { state.withLock { $0.stats } }

    func resetPeaks() {
        state.withLock { s in
            s.stats.peakAllocatedBytes = s.stats.allocatedBytes
            s.stats.peakReservedBytes = s.stats.reservedBytes
        }
    }
}

extension CUDAAllocator.State {
    /// Puts a block just handed out into the capture pool under way, if any.
    fileprivate mutating func addToActivePool(_ address: UInt64, size: Int) {
        guard let pool = activePool else { return }
        pools[pool]!.add(address, size: size)  // the active pool exists
        poolOfBlock[address] = pool
    }
}

/// Device memory from a `CUDABackend`; returns itself to the allocator's cache when released.
final class CUDABuffer: DeviceBuffer, @unchecked Sendable {
    let address: UInt64
    let byteCount: Int
    private let blockSize: Int
    private let allocator: CUDAAllocator

    init(address: UInt64, byteCount: Int, blockSize: Int, allocator: CUDAAllocator) {
        self.address = address
        self.byteCount = byteCount
        self.blockSize = blockSize
        self.allocator = allocator
    }

    deinit { allocator.release(address, size: blockSize) }
}

extension BufferRef {
    /// The device address of this reference for `dtype` elements (a CUDA buffer).
    func cudaAddress(_ dtype: DType = .f32) -> UInt64 {
        (buffer as! CUDABuffer).address + UInt64(offset * dtype.byteSize)
    }
}

extension StridedRef {
    func cudaAddress(_ dtype: DType = .f32) -> UInt64 {
        (buffer as! CUDABuffer).address + UInt64(offset * dtype.byteSize)
    }
}
