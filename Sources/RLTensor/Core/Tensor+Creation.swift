extension Tensor {
    /// A tensor holding `values` (row-major) with `shape`.
    public init(_ values: [Float], shape: [Int], device: Device = .cpu) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values do not fill shape \(shape)")
        self.init(uninitialized: shape, dtype: .f32, device: device)
        values.withUnsafeBytes { backend.upload($0, to: storage.buffer, byteOffset: 0) }
    }

    /// An i32 tensor (token ids, indices, masks).
    public init(_ values: [Int32], shape: [Int], device: Device = .cpu) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values do not fill shape \(shape)")
        self.init(uninitialized: shape, dtype: .i32, device: device)
        values.withUnsafeBytes { backend.upload($0, to: storage.buffer, byteOffset: 0) }
    }

    /// An i64 tensor.
    public init(_ values: [Int64], shape: [Int], device: Device = .cpu) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values do not fill shape \(shape)")
        self.init(uninitialized: shape, dtype: .i64, device: device)
        values.withUnsafeBytes { backend.upload($0, to: storage.buffer, byteOffset: 0) }
    }

    /// A tensor of `dtype` from raw little-endian bytes (e.g. a safetensors entry).
    public init(bytes: UnsafeRawBufferPointer, dtype: DType, shape: [Int], device: Device = .cpu) {
        precondition(bytes.count == shape.reduce(1, *) * dtype.byteSize,
                     "\(bytes.count) bytes do not hold a \(dtype) tensor of shape \(shape)")
        self.init(uninitialized: shape, dtype: dtype, device: device)
        backend.upload(bytes, to: storage.buffer, byteOffset: 0)
    }

    /// A 0-dimensional f32 tensor.
    public init(scalar: Float, device: Device = .cpu) {
        self.init([scalar], shape: [], device: device)
    }

    public static func full(_ shape: [Int], value: Double, dtype: DType = .f32, device: Device = .cpu) -> Tensor {
        let t = Tensor(uninitialized: shape, dtype: dtype, device: device)
        t.backend.fill(t.ref, count: t.count, dtype: dtype, value: value)
        return t
    }

    public static func zeros(_ shape: [Int], dtype: DType = .f32, device: Device = .cpu) -> Tensor {
        full(shape, value: 0, dtype: dtype, device: device)
    }

    public static func ones(_ shape: [Int], dtype: DType = .f32, device: Device = .cpu) -> Tensor {
        full(shape, value: 1, dtype: dtype, device: device)
    }

    /// `[0, 1, ..., count-1]` as f32 or an integer type.
    public static func arange(_ count: Int, dtype: DType = .f32, device: Device = .cpu) -> Tensor {
        switch dtype {
        case .i32: return Tensor((0..<count).map { Int32($0) }, shape: [count], device: device)
        case .i64: return Tensor((0..<count).map { Int64($0) }, shape: [count], device: device)
        default: return Tensor((0..<count).map { Float($0) }, shape: [count], device: device).cast(to: dtype)
        }
    }

    /// Seeded normal samples (Philox; the same stream on every backend).
    public static func randomNormal(_ shape: [Int], mean: Float = 0, std: Float = 1, seed: UInt64, device: Device = .cpu) -> Tensor {
        let t = Tensor(uninitialized: shape, dtype: .f32, device: device)
        t.backend.randomFill(t.ref, count: t.count, distribution: .normal(mean: mean, std: std), seed: seed, counterOffset: 0)
        return t
    }

    /// Seeded uniform samples in `[low, high)`.
    public static func randomUniform(_ shape: [Int], low: Float = 0, high: Float = 1, seed: UInt64, device: Device = .cpu) -> Tensor {
        let t = Tensor(uninitialized: shape, dtype: .f32, device: device)
        t.backend.randomFill(t.ref, count: t.count, distribution: .uniform(low: low, high: high), seed: seed, counterOffset: 0)
        return t
    }

    /// Zeros with this tensor's shape, dtype and device.
    public func zerosLike() -> Tensor { .zeros(shape, dtype: dtype, device: device) }
}

extension Tensor {
    /// Copies the raw bytes of the (contiguous copy of the) tensor to the host.
    public func withHostBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let packed = contiguous()
        var bytes = [UInt8](repeating: 0, count: packed.count * dtype.byteSize)
        bytes.withUnsafeMutableBytes {
            packed.backend.download(packed.storage.buffer, byteOffset: packed.offset * dtype.byteSize, into: $0)
        }
        return try bytes.withUnsafeBytes(body)
    }

    /// The elements as `Float`s, converting from bf16/f16/integers.
    public func toFloatArray() -> [Float] {
        let source = (dtype == .f32 ? self : cast(to: .f32)).contiguous()
        // Downloaded straight into the array: one copy (decoding copies its logits every step).
        return [Float](unsafeUninitializedCapacity: source.count) { floats, initialized in
            source.backend.download(source.storage.buffer, byteOffset: source.offset * 4, into: UnsafeMutableRawBufferPointer(floats))
            initialized = source.count
        }
    }

    /// The elements as `Int32`s (from i32, or i64 narrowed; values must fit).
    public func toInt32Array() -> [Int32] {
        switch dtype {
        case .i32: return withHostBytes { Array($0.bindMemory(to: Int32.self)) }
        case .i64: return withHostBytes { $0.bindMemory(to: Int64.self).map { Int32(truncatingIfNeeded: $0) } }
        default: return toFloatArray().map { Int32($0) }
        }
    }

    /// The only element of a one-element tensor.
    public func item() -> Float {
        precondition(count == 1, "item() needs a one-element tensor, got shape \(shape)")
        return toFloatArray()[0]
    }
}
