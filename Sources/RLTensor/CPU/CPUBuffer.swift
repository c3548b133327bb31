import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Host memory for the CPU backend: 64-byte aligned, and 2 MiB aligned with transparent huge
/// pages requested for large buffers (weights, logits), which speeds up streaming reads.
///
/// Large buffers are recycled through `LargeBufferPool`: a training step frees and allocates
/// the same multi-gigabyte logits and gradients every time, and fresh pages cost the kernel a
/// zeroing pass (a quarter of a step's time without the pool).
final class CPUBuffer: DeviceBuffer, @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int
    /// Bytes actually allocated (a multiple of the alignment).
    private let allocatedBytes: Int
    private let isLarge: Bool

    static let hugePage = 2 << 20

    init(byteCount: Int) {
        self.byteCount = byteCount
        isLarge = byteCount >= 4 * CPUBuffer.hugePage
        let alignment = isLarge ? CPUBuffer.hugePage : 64
        allocatedBytes = max((byteCount + alignment - 1) / alignment * alignment, alignment)
        if isLarge, let reused = LargeBufferPool.take(byteCount: allocatedBytes) {
            pointer = reused
            return
        }
        var raw: UnsafeMutableRawPointer?
        let status = posix_memalign(&raw, alignment, allocatedBytes)
        guard status == 0, let raw else {
            fatalError("out of memory allocating \(byteCount) bytes on the CPU")
        }
        #if os(Linux)
        if isLarge { _ = madvise(raw, allocatedBytes, 14 /* MADV_HUGEPAGE */) }
        #endif
        pointer = raw
    }

    deinit {
        if !isLarge || !LargeBufferPool.give(pointer, byteCount: allocatedBytes) { free(pointer) }
    }

    func floats(_ offset: Int) -> UnsafeMutablePointer<Float> {
        pointer.assumingMemoryBound(to: Float.self) + offset
    }

    func ints(_ offset: Int) -> UnsafeMutablePointer<Int32> {
        pointer.assumingMemoryBound(to: Int32.self) + offset
    }
}

/// Freed large CPU buffers kept for reuse by size (contents are not cleared: new tensors are
/// always written before they are read), up to `limitBytes` in all.
enum LargeBufferPool {
    /// Idle bytes the pool may hold.
    static let limitBytes = 4 << 30

    private struct State: ~Copyable {
        /// Addresses (as integers, which are `Sendable`) of idle buffers by size.
        var free: [Int: [UInt]] = [:]
        var bytes = 0
    }

    private static let state = Mutex(State())

    /// A pooled buffer of exactly `byteCount` bytes, if one is idle.
    static func take(byteCount: Int) -> UnsafeMutableRawPointer? {
        state.withLock { state in
            guard let address = state.free[byteCount]?.popLast() else { return nil }
            state.bytes -= byteCount
            return UnsafeMutableRawPointer(bitPattern: address)
        }
    }

    /// Keeps `pointer` for reuse; false (the caller frees it) when the pool is full.
    static func give(_ pointer: UnsafeMutableRawPointer, byteCount: Int) -> Bool {
        let address = UInt(bitPattern: pointer)
        return state.withLock { state in
            guard state.bytes + byteCount <= limitBytes else { return false }
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
