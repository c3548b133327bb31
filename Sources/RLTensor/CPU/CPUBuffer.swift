#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Host memory for the CPU backend: 64-byte aligned, and 2 MiB aligned with transparent huge
/// pages requested for large buffers (weights, logits), which speeds up streaming reads.
final class CPUBuffer: DeviceBuffer, @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int

    private static let hugePage = 2 << 20

    init(byteCount: Int) {
        self.byteCount = byteCount
        let alignment = byteCount >= 4 * CPUBuffer.hugePage ? CPUBuffer.hugePage : 64
        let rounded = (byteCount + alignment - 1) / alignment * alignment
        var raw: UnsafeMutableRawPointer?
        let status = posix_memalign(&raw, alignment, max(rounded, alignment))
        guard status == 0, let raw else {
            fatalError("out of memory allocating \(byteCount) bytes on the CPU")
        }
        #if os(Linux)
        if alignment == CPUBuffer.hugePage { _ = madvise(raw, rounded, 14 /* MADV_HUGEPAGE */) }
        #endif
        pointer = raw
    }

    deinit { free(pointer) }

    func floats(_ offset: Int) -> UnsafeMutablePointer<Float> {
        pointer.assumingMemoryBound(to: Float.self) + offset
    }

    func ints(_ offset: Int) -> UnsafeMutablePointer<Int32> {
        pointer.assumingMemoryBound(to: Int32.self) + offset
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
