/// An n-dimensional array on a device: a strided view of a `TensorStorage`.
///
/// Tensors are values: every op returns a new tensor and never changes its inputs (the in-place
/// exceptions are named as such, e.g. optimiser updates and KV-cache writes). Views (`reshaped`,
/// `permuted`, `sliced`, `expanded`) share storage. Inside `valueAndGrad` every op is recorded
/// for the backward pass; outside it nothing is.
public struct Tensor: @unchecked Sendable, CustomStringConvertible {
    public let storage: TensorStorage
    public let shape: [Int]
    public let strides: [Int]
    /// Offset of element (0, 0, ...) in the storage, in elements.
    public let offset: Int
    /// Autograd identity.
    public let id: TensorID

    public var dtype: DType { storage.dtype }
    public var device: Device { storage.backend.device }
    var backend: any ComputeBackend { storage.backend }
    public var rank: Int { shape.count }
    public var count: Int { shape.reduce(1, *) }

    init(storage: TensorStorage, shape: [Int], strides: [Int], offset: Int) {
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.id = TensorID.next()
    }

    /// A new uninitialised contiguous tensor.
    init(uninitialized shape: [Int], dtype: DType, device: Device) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        let storage = TensorStorage(backend: BackendRegistry.backend(for: device), dtype: dtype, count: shape.reduce(1, *))
        self.init(storage: storage, shape: shape, strides: Tensor.contiguousStrides(shape), offset: 0)
    }

    /// Row-major strides of a packed tensor.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= Swift.max(shape[axis], 1)
        }
        return strides
    }

    /// True when the elements are packed in row-major order (size-1 axes may have any stride; an
    /// empty tensor is always packed).
    public var isContiguous: Bool {
        if shape.contains(0) { return true }
        var expected = 1
        for axis in stride(from: rank - 1, through: 0, by: -1) where shape[axis] != 1 {
            if strides[axis] != expected { return false }
            expected *= shape[axis]
        }
        return true
    }

    /// Same view with a fresh autograd identity and no recorded history.
    func withNewIdentity(shape: [Int]? = nil, strides: [Int]? = nil, offset: Int? = nil) -> Tensor {
        Tensor(storage: storage, shape: shape ?? self.shape, strides: strides ?? self.strides, offset: offset ?? self.offset)
    }

    var ref: BufferRef {
        precondition(isContiguous, "internal: kernel input must be contiguous")
        return BufferRef(storage.buffer, offset: offset)
    }

    var stridedRef: StridedRef { StridedRef(storage.buffer, offset: offset, strides: strides) }

    public var description: String {
        "Tensor(\(shape.map(String.init).joined(separator: "x")), \(dtype), \(device))"
    }

    /// Resolves a possibly negative axis index.
    func axis(_ axis: Int) -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        precondition(resolved >= 0 && resolved < rank, "axis \(axis) out of range for shape \(shape)")
        return resolved
    }
}
