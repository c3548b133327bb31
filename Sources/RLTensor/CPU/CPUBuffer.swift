import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Host memory for the CPU backend: 64-byte aligned, and 2 MiB aligned with transparent huge
/// pages requested for large buffers (weights, logits), which speeds up streaming reads.
/// Buffers of 1 MiB and more are recycled through `HostBufferPool`.
final class CPUBuffer: DeviceBuffer, @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int
    /// Bytes actually reserved (the pool's size class).
    private let reservedBytes: Int
    /// The measuring scope the buffer was allocated in, if any.
    private let scope: HostMemory.Scope?

    private static let hugePage = 2 << 20

    init(byteCount: Int) {
        self.byteCount = byteCount
        // Alignment follows from the size class, so every buffer of one class is aligned alike.
        let sizeClass = HostBufferPool.sizeClass(max(byteCount, 64))
        let alignment = sizeClass >= 4 * CPUBuffer.hugePage ? CPUBuffer.hugePage : 64
        let rounded = (sizeClass + alignment - 1) / alignment * alignment
        reservedBytes = rounded
        scope = HostMemory.Scope.current
        HostMemory.allocated(rounded)
        scope?.allocated(rounded)
        if let recycled = HostBufferPool.shared.take(byteCount: rounded) {
            pointer = recycled
            return
        }
        // Kept buffers never raise the process's footprint above the most its live tensors ever
        // took (see `HostBufferPool.makeRoom`).
        if rounded >= HostBufferPool.minimumBytes { HostBufferPool.shared.makeRoom(liveBytes: HostMemory.liveBytes) }
        var raw: UnsafeMutableRawPointer?
        let status = posix_memalign(&raw, alignment, rounded)
        guard status == 0, let raw else {
            fatalError("out of memory allocating \(byteCount) bytes on the CPU")
        }
        #if os(Linux)
        if alignment == CPUBuffer.hugePage { _ = madvise(raw, rounded, 14 /* MADV_HUGEPAGE */) }
        #endif
        pointer = raw
    }

    deinit {
        HostMemory.freed(reservedBytes)
        scope?.freed(reservedBytes)
        if !HostBufferPool.shared.give(pointer, byteCount: reservedBytes) { free(pointer) }
    }

    func floats(_ offset: Int) -> UnsafeMutablePointer<Float> {
        pointer.assumingMemoryBound(to: Float.self) + offset
    }

    func ints(_ offset: Int) -> UnsafeMutablePointer<Int32> {
        pointer.assumingMemoryBound(to: Int32.self) + offset
    }
}

/// Keeps freed large host buffers for reuse. A fresh multi-megabyte allocation is mapped anew
/// by the C library, so its first write takes a page fault and a kernel zeroing per page; for
/// bandwidth-bound ops that allocate their outputs this doubled the time. Buffers are reused by
/// exact size class (training steps allocate the same shapes every step), up to a byte budget.
/// Before an allocation the pool cannot serve, it frees kept buffers until live and kept bytes
/// together are at most the most live bytes the process ever had plus a headroom: the buffers a
/// training step reuses every iteration (its logits and their gradient) survive the smaller
/// allocations between their uses, and the footprint stays within the headroom of its peak.
final class HostBufferPool: @unchecked Sendable {
    static let shared = HostBufferPool(capacity: 16 << 30, headroom: HostBufferPool.systemHeadroom)

    /// The shared pool's headroom above the most ever live: an eighth of it, at most 1 GiB and at
    /// most a quarter of what the system still has free (none where that is unknown). Without
    /// it, a training step's weight gradient, allocated after the logits were freed, made the
    /// pool give back their 1.9 GB buffer, and the next step mapped and zeroed it afresh.
    static func systemHeadroom(mostLive: Int) -> Int {
        min(mostLive / 8, 1 << 30, (SystemMemory.freeBytes() ?? 0) / 4)
    }

    /// Smallest buffer worth keeping.
    static let minimumBytes = 1 << 20

    /// Rounds pooled sizes up to 64 KiB so nearby shapes share a class (smaller sizes unchanged).
    static func sizeClass(_ bytes: Int) -> Int {
        bytes < minimumBytes ? bytes : (bytes + 0xFFFF) & ~0xFFFF
    }

    private let capacity: Int
    /// Bytes kept buffers may add above the most ever live, given that most.
    private let headroom: @Sendable (_ mostLive: Int) -> Int
    /// Addresses of kept buffers by size (no empty lists), oldest first; their total size.
    private let state = Mutex<(free: [Int: [UInt]], bytes: Int)>(([:], 0))
    /// The most live bytes `makeRoom` has seen.
    private let highWater = Atomic<Int>(0)

    /// A pool keeping at most `capacity` bytes, and at most `headroom(most)` beyond the most
    /// bytes ever live (none by default).
    init(capacity: Int, headroom: @escaping @Sendable (_ mostLive: Int) -> Int = { _ in 0 }) {
        self.capacity = capacity
        self.headroom = headroom
    }

    /// A kept buffer of exactly `byteCount` bytes (the most recently returned), if any.
    func take(byteCount: Int) -> UnsafeMutableRawPointer? {
        guard byteCount >= HostBufferPool.minimumBytes else { return nil }
        let address: UInt? = state.withLock { state in
            guard let kept = state.free[byteCount]?.popLast() else { return nil }
            if state.free[byteCount]!.isEmpty { state.free[byteCount] = nil }
            state.bytes -= byteCount
            return kept
        }
        return address.flatMap { UnsafeMutableRawPointer(bitPattern: $0) }
    }

    /// Called before a fresh allocation, with the live bytes counting it: frees kept buffers
    /// until live and kept bytes together are at most the most live bytes seen so far plus the
    /// headroom.
    func makeRoom(liveBytes: Int) {
        let most = highWater.max(liveBytes, ordering: .relaxed).newValue
        let excess = liveBytes + state.withLock { $0.bytes } - most
        // The headroom is asked only when needed: the shared pool's reads /proc.
        guard excess > 0 else { return }
        let beyondHeadroom = excess - headroom(most)
        if beyondHeadroom > 0 { release(atLeast: beyondHeadroom) }
    }

    /// Frees kept buffers until at least `bytes` are returned or none is left: the smallest kept
    /// buffer of at least what is still needed when there is one, else the smallest ones first.
    func release(atLeast bytes: Int) {
        let doomed: [UInt] = state.withLock { state in
            var released = 0, addresses: [UInt] = []
            while released < bytes, !state.free.isEmpty {
                let needed = bytes - released
                let sizes = state.free.keys
                let size = sizes.filter { $0 >= needed }.min() ?? sizes.min()!
                addresses.append(state.free[size]!.removeFirst())
                if state.free[size]!.isEmpty { state.free[size] = nil }
                released += size
                state.bytes -= size
            }
            return addresses
        }
        for address in doomed { free(UnsafeMutableRawPointer(bitPattern: address)) }
    }

    /// Keeps `pointer` for reuse; false when it is too small or the pool is full (free it).
    func give(_ pointer: UnsafeMutableRawPointer, byteCount: Int) -> Bool {
        guard byteCount >= HostBufferPool.minimumBytes else { return false }
        let address = UInt(bitPattern: pointer)
        return state.withLock { state in
            guard state.bytes + byteCount <= capacity else { return false }
            state.free[byteCount, default: []].append(address)
            state.bytes += byteCount
            return true
        }
    }
}

extension BufferRef {
    /// The f32 elements of a CPU buffer starting at this reference.
    var f32: UnsafeMutablePointer<Float> { (buffer as! CPUBuffer).floats(offset) }
    /// The i32 elements of a CPU buffer starting at this reference.
    var i32: UnsafeMutablePointer<Int32> { (buffer as! CPUBuffer).ints(offset) }
    /// The raw bytes of a CPU buffer at this reference for `dtype` elements.
    func bytes(_ dtype: DType) -> UnsafeMutableRawPointer { (buffer as! CPUBuffer).pointer + offset * dtype.byteSize }
}

/// Bytes held by live CPU tensors (buffers kept by the pool for reuse are not counted), and the
/// most held at once since the last `resetPeak()`: what the memory plan predicts, without the
/// process's other memory.
public enum HostMemory {
    private static let process = Scope()

    /// Bytes of live CPU tensor buffers now.
    public static var liveBytes: Int { process.liveBytes }
    /// The largest `liveBytes` since the last `resetPeak()`.
    public static var peakBytes: Int { process.peakBytes }
    /// Starts a new peak from the current live bytes.
    public static func resetPeak() { process.resetPeak() }
    /// Returns the freed buffers kept for reuse to the system (e.g. after a setup that allocated
    /// shapes the run will not use again).
    public static func releaseCachedBuffers() { HostBufferPool.shared.release(atLeast: .max) }

    static func allocated(_ bytes: Int) { process.allocated(bytes) }
    static func freed(_ bytes: Int) { process.freed(bytes) }

    /// Counts only the buffers allocated by the code run inside `measure(_:)` (on that task),
    /// until they are freed: a measurement other work in the process does not disturb.
    public final class Scope: Sendable {
        @TaskLocal static var current: Scope?
        private let live = Atomic<Int>(0)
        private let peak = Atomic<Int>(0)

        public init() {}

        /// Bytes of this scope's buffers alive now.
        public var liveBytes: Int { live.load(ordering: .relaxed) }
        /// The most alive at once since the scope began or `resetPeak()`.
        public var peakBytes: Int { peak.load(ordering: .relaxed) }
        public func resetPeak() { peak.store(live.load(ordering: .relaxed), ordering: .relaxed) }

        /// Runs `body`, counting the CPU buffers it allocates.
        public func measure<T>(_ body: () throws -> T) rethrows -> T { try Scope.$current.withValue(self) { try body() } }

        func allocated(_ bytes: Int) {
            let now = live.add(bytes, ordering: .relaxed).newValue
            var seen = peak.load(ordering: .relaxed)
            while now > seen {
                let (exchanged, original) = peak.compareExchange(expected: seen, desired: now, ordering: .relaxed)
                if exchanged { break }
                seen = original
            }
        }

        func freed(_ bytes: Int) { live.subtract(bytes, ordering: .relaxed) }
    }
}
