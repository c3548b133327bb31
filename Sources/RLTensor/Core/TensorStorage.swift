import Synchronization

/// The memory behind one or more tensor views.
public final class TensorStorage: @unchecked Sendable {
    public let buffer: any DeviceBuffer
    public let backend: any ComputeBackend
    public let dtype: DType
    /// Number of elements the buffer holds.
    public let count: Int

    init(backend: any ComputeBackend, dtype: DType, count: Int) {
        self.backend = backend
        self.dtype = dtype
        self.count = count
        self.buffer = backend.allocate(byteCount: Swift.max(1, count) * dtype.byteSize)
    }
}

/// Identity of a tensor value for autograd (every op result gets a fresh one).
public struct TensorID: Hashable, Sendable {
    let raw: UInt64
    private static let counter = Atomic<UInt64>(1)
    static func next() -> TensorID { TensorID(raw: counter.wrappingAdd(1, ordering: .relaxed).oldValue) }
}
